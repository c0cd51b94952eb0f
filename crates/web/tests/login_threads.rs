//! Password verification leaves the async threads free (issue 12: a burst of 40 logins delayed `/healthz` to
//! 2.5 s while argon2 ran on them).
//!
//! A test binary of its own: it reads the process-wide count of verifications in progress, which other tests
//! running in the same process would disturb.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use kernel::Role;
use testkit::TestDb;
use webtest::{PASSWORD, TestApp};

/// On a runtime with a single thread, a verification that ran on that thread would start and finish within
/// one poll of its task, and no other task could ever see it in progress. Here another task sees it in
/// progress and completes a request meanwhile, so the verification runs elsewhere (a blocking thread).
async fn logins_leave_the_runtime_free(db: kernel::Db) {
    let app = TestApp::new(db).await;
    let mut logins = tokio::task::JoinSet::new();
    for role in Role::ALL.iter().cycle().take(16) {
        let router = app.router.clone();
        let request = webtest::login_request(&TestApp::username(*role), PASSWORD, "/");
        logins.spawn(async move {
            tower::ServiceExt::oneshot(router, request)
                .await
                .unwrap()
                .status()
        });
    }
    // Yield to the login tasks until one of them is inside a verification (bounded: fail, not hang).
    let mut seen = false;
    for _ in 0..1_000_000 {
        tokio::task::yield_now().await;
        if kernel::password::verifications_in_progress() > 0 {
            seen = true;
            break;
        }
    }
    assert!(
        seen,
        "no other task ever ran while a password was being verified"
    );
    let health = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(health.status, StatusCode::OK);
    while let Some(status) = logins.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::SEE_OTHER);
    }
}

/// One test for both backends, one after the other: the count is process-wide.
#[tokio::test(flavor = "current_thread")]
async fn password_verification_runs_off_the_async_threads() {
    let sqlite = TestDb::sqlite().await;
    logins_leave_the_runtime_free(sqlite.db.clone()).await;
    if let Some(postgres) = TestDb::postgres().await {
        logins_leave_the_runtime_free(postgres.db.clone()).await;
    }
}
