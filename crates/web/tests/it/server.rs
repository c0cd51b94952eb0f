//! The web server over a real socket (`web::serve`): a client sending its headers slowly, or nothing at all,
//! is cut off after the header-read timeout; a whole request is answered.

use std::time::Duration;

use kernel::AppState;
use kernel::state::AppConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection; what it sent, or `None` if it is still open after `bound`.
async fn read_until_closed(stream: &mut TcpStream, bound: Duration) -> Option<String> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&received).into_owned()),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

#[tokio::test]
async fn slow_or_silent_clients_are_cut_off_after_the_header_timeout() {
    let test = testkit::TestDb::sqlite().await;
    let config = AppConfig {
        http_header_read_timeout: Duration::from_secs(1),
        data_dir: std::env::temp_dir(),
        ..AppConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(
        AppState::new(test.db.clone(), config),
        listener,
        async move {
            let _ = stopped.await;
        },
    ));

    // A whole request is answered.
    let mut client = TcpStream::connect(addr).await.unwrap();
    client
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let reply = read_until_closed(&mut client, Duration::from_secs(10))
        .await
        .expect("answered and closed");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");

    // Headers a byte every 100 ms: cut off (axum::serve kept this open as long as bytes came).
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = slow.split();
    let request = b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: ".to_vec();
    let cut_off = tokio::select! {
        closed = read_until_closed_half(&mut reader, Duration::from_secs(15)) => closed,
        _ = async {
            for byte in request.iter().copied().chain(std::iter::repeat(b'a')) {
                if writer.write_all(&[byte]).await.is_err() {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        } => unreachable!(),
    };
    assert!(
        cut_off,
        "slow headers are cut off after the header-read timeout"
    );

    // A connection that sends nothing is closed too.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert!(
        read_until_closed(&mut silent, Duration::from_secs(15))
            .await
            .is_some(),
        "a silent connection is closed"
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

async fn read_until_closed_half(
    reader: &mut tokio::net::tcp::ReadHalf<'_>,
    bound: Duration,
) -> bool {
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match tokio::time::timeout_at(deadline, reader.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

// The streamed CSV export over a real socket, compressed and not: the last chunk arrives. (The schema-driven fuzz
// step found the stream panicking when polled once more after its end under the compression layer; the stream
// is fused since. This test did not reproduce that poll order, so it guards the streaming, not that panic.)
testkit::db_test!(a_streamed_export_reads_to_the_end_compressed, |db| {
    let app = crate::app::TestApp::new(db).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(app.state.clone(), listener, async move {
        let _ = stopped.await;
    }));
    let admin = app.token(kernel::Role::Admin).await;
    let point = app
        .json_with_token(
            "POST",
            "/api/v1/points",
            &admin,
            &format!(
                r#"{{"code":"EXP-1","name":"导出测试站","kind":"air_station","level":"micro","street_id":{},"owner":"东丽区生态环境局"}}"#,
                app.street_a
            ),
        )
        .await;
    assert_eq!(
        point.status,
        axum::http::StatusCode::CREATED,
        "{}",
        point.body
    );
    let id = point.json()["id"].as_i64().unwrap();
    // A month of hours of six factors: a body of several compressed chunks.
    let readings: Vec<String> = (0..31 * 24)
        .flat_map(|h| {
            ["a34004", "a34002", "a21026", "a21004", "a21005", "a05024"].map(|factor| {
                format!(
                    r#"{{"point_id":{id},"factor":"{factor}","ts":{},"period":"hour","value":{h},"flag":"N"}}"#,
                    1_704_038_400 + h * 3600
                )
            })
        })
        .collect();
    let pushed = app
        .json_with_token(
            "POST",
            "/api/v1/readings",
            &admin,
            &format!(r#"{{"readings":[{}]}}"#, readings.join(",")),
        )
        .await;
    assert_eq!(pushed.status, axum::http::StatusCode::OK, "{}", pushed.body);
    for encoding in ["gzip", "identity"] {
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(
                format!(
                    "GET /api/v1/readings/export.csv?month=2024-01 HTTP/1.1\r\nHost: test\r\n\
                     Authorization: Bearer {admin}\r\nAccept-Encoding: {encoding}\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        let reply = read_until_closed(&mut client, Duration::from_secs(30))
            .await
            .expect("answered and closed");
        assert!(reply.starts_with("HTTP/1.1 200"), "{encoding}: {reply}");
        // The last chunk arrived: the body was not cut off part-way.
        assert!(reply.ends_with("0\r\n\r\n"), "{encoding}: {reply:?}");
        if encoding == "identity" {
            assert!(
                reply.contains("EXP-1,a34004,2024-01-01T23:00:00+08:00,hour,23,N,23,1"),
                "{reply}"
            );
        }
    }
    let _ = stop.send(());
    let _ = server.await;
});
