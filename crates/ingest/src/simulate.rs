//! Simulated field devices for `qingshan simulate`, the load client and tests: flue-gas outlets sending minute
//! uploads (CN 2051) over TCP in the edition they are registered with — HJ 212-2017 (Flag 5: acknowledgement
//! requested), HJ/T 212-2005 (Flag 1, the 2005 pollutant codes) or HJ 212-2025 (Flag 9, the CP SM4-encrypted
//! under the device's key when it has one) — waiting for each 9014 and sending again what was not
//! acknowledged. With faults on, some packets go out with a bad CRC, behind
//! garbage, split over several writes, and some connections are dropped before the reply.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A device as the simulator drives it.
#[derive(Debug, Clone)]
pub struct SimDevice {
    pub mn: String,
    pub password: String,
    pub protocol: SimProtocol,
    /// An HJ 212-2025 device's current SM4 key: its CP is encrypted. `None`: sent in clear.
    pub key: Option<hj212::sm4::Sm4Key>,
}

/// The edition a simulated device speaks (its registered `protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimProtocol {
    Hj2005,
    Hj2017,
    Hj2025,
}

impl SimProtocol {
    pub fn parse(text: &str) -> Option<SimProtocol> {
        match text {
            "2005" => Some(SimProtocol::Hj2005),
            "2017" => Some(SimProtocol::Hj2017),
            "2025" => Some(SimProtocol::Hj2025),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SimProtocol::Hj2005 => "2005",
            SimProtocol::Hj2017 => "2017",
            SimProtocol::Hj2025 => "2025",
        }
    }

    /// Version bits and the A bit (acknowledgement wanted).
    fn flag(self) -> u8 {
        match self {
            SimProtocol::Hj2005 => 1,
            SimProtocol::Hj2017 => 5,
            SimProtocol::Hj2025 => 9,
        }
    }
}

/// A CP written with HJ 212-2017 codes, with the HJ/T 212-2005 codes instead where the standard gives one.
pub fn with_2005_codes(cp: &str) -> String {
    cp.split(';')
        .map(|item| {
            item.split(',')
                .map(|field| match field.split_once('-') {
                    Some((code, rest)) => {
                        match hj212::codes::pollutant_code(code).and_then(|p| p.code_2005) {
                            Some(old) => format!("{old}-{rest}"),
                            None => field.to_string(),
                        }
                    }
                    None => field.to_string(),
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Small deterministic generator (xorshift64*): values and faults repeat for a seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal (sum of uniforms), mean 0, deviation 1.
    pub fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }
}

/// One outlet's slowly wandering emission levels.
#[derive(Debug, Clone)]
pub struct Outlet {
    so2: f64,
    nox: f64,
    dust: f64,
    o2: f64,
    temperature: f64,
    flow: f64,
}

impl Outlet {
    pub fn new(rng: &mut Rng) -> Outlet {
        Outlet {
            so2: 15.0 + 20.0 * rng.unit(),
            nox: 30.0 + 40.0 * rng.unit(),
            dust: 2.0 + 6.0 * rng.unit(),
            o2: 8.0 + 3.0 * rng.unit(),
            temperature: 45.0 + 30.0 * rng.unit(),
            flow: 20.0 + 40.0 * rng.unit(),
        }
    }

    /// The CP data area of the minute starting at `minute` (Unix seconds): averages, minima, maxima, flags.
    pub fn minute_cp(&mut self, rng: &mut Rng, minute: i64) -> String {
        // Mean-reverting steps keep each outlet near its own level; the day shape follows production shifts.
        let hour = (minute.rem_euclid(86_400) / 3600 + 8) % 24;
        let load = if (8..20).contains(&hour) { 1.1 } else { 0.85 };
        let mut step = |value: &mut f64, centre: f64, spread: f64| {
            *value += 0.1 * (centre - *value) + spread * rng.normal();
            *value = value.max(0.0);
            *value
        };
        let so2 = step(&mut self.so2, 25.0 * load, 1.0);
        let nox = step(&mut self.nox, 50.0 * load, 2.0);
        let dust = step(&mut self.dust, 5.0 * load, 0.3);
        let o2 = step(&mut self.o2, 9.5, 0.2);
        let temperature = step(&mut self.temperature, 60.0, 0.5);
        let flow = step(&mut self.flow, 40.0 * load, 1.0);
        let data_time = chrono::DateTime::from_timestamp(minute + 8 * 3600, 0)
            .map(|t| t.format("%Y%m%d%H%M%S").to_string())
            .unwrap_or_default();
        let mut cp = format!("DataTime={data_time}");
        for (code, value) in [
            ("a21026", so2),
            ("a21002", nox),
            ("a34013", dust),
            ("a19001", o2),
            ("a01012", temperature),
            ("a00000", flow),
        ] {
            let low = value * 0.95;
            let high = value * 1.05;
            cp.push_str(&format!(
                ";{code}-Avg={value:.3},{code}-Min={low:.3},{code}-Max={high:.3},{code}-Flag=N"
            ));
        }
        cp
    }
}

/// A minute upload asking for a 9014, in the device's edition. `qn` is the send time (CST, 17 digits); `cp`
/// written with 2017 codes. With a key the CP is encrypted (the CRC over the plaintext, as HJ 212-2025 has it).
pub fn minute_packet(device: &SimDevice, qn: &str, cp: &str) -> Vec<u8> {
    let header = hj212::encode::Header {
        qn: Some(qn),
        st: "31",
        cn: 2051,
        pw: &device.password,
        mn: &device.mn,
        flag: Some(device.protocol.flag()),
        subpacket: None,
        backfill: false,
    };
    let cp = match device.protocol {
        SimProtocol::Hj2005 => with_2005_codes(cp),
        SimProtocol::Hj2017 | SimProtocol::Hj2025 => cp.to_string(),
    };
    // Our own CP and header text never hold what the encoder refuses.
    let plain = hj212::encode::encode(&header, &cp).unwrap_or_default();
    match &device.key {
        Some(key) => hj212::sm4::encrypt_packet(key, &plain).unwrap_or(plain),
        None => plain,
    }
}

/// QN for the current moment, China Standard Time with milliseconds.
pub fn qn_now() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y%m%d%H%M%S%3f")
        .to_string()
}

/// What a device's run did.
#[derive(Debug, Clone, Default)]
pub struct DeviceStats {
    pub sent: u64,
    pub acknowledged: u64,
    pub resent: u64,
    pub bad_crc_sent: u64,
    pub reconnects: u64,
    /// Milliseconds from the last byte of a packet to its acknowledgement.
    pub ack_latencies_ms: Vec<f64>,
}

/// How a device behaves.
#[derive(Debug, Clone)]
pub struct Behaviour {
    pub target: SocketAddr,
    /// Packets per second.
    pub rate: f64,
    pub faults: bool,
    /// Waiting longer than this for a 9014 counts as lost: reconnect and send again.
    pub ack_timeout: Duration,
    /// The first DataTime (Unix seconds, a minute start); each packet is the next minute.
    pub first_minute: i64,
    /// Live data: a minute is sent only once it is over (after a catch-up from `first_minute`).
    pub live: bool,
}

/// Drives one device until `deadline`. Every minute that was sent is sent until acknowledged (or the
/// deadline passes).
pub async fn run_device(
    device: SimDevice,
    seed: u64,
    behaviour: Behaviour,
    deadline: Instant,
) -> DeviceStats {
    let mut rng = Rng::new(seed);
    let mut outlet = Outlet::new(&mut rng);
    let mut stats = DeviceStats::default();
    let mut minute = behaviour.first_minute;
    let interval = Duration::from_secs_f64(1.0 / behaviour.rate.max(0.001));
    // Spread the devices over the first interval so they do not all send at once.
    let mut next_send = Instant::now() + interval.mul_f64(rng.unit());
    let mut stream: Option<TcpStream> = None;
    let mut unacknowledged: Option<Vec<u8>> = None;
    while Instant::now() < deadline {
        tokio::time::sleep_until(next_send.into()).await;
        next_send += interval;
        if behaviour.live
            && unacknowledged.is_none()
            && minute > kernel::time::now_ts() / 60 * 60 - 60
        {
            continue;
        }
        let packet = match unacknowledged.take() {
            Some(packet) => {
                stats.resent += 1;
                packet
            }
            None => {
                let cp = outlet.minute_cp(&mut rng, minute);
                minute += 60;
                minute_packet(&device, &qn_now(), &cp)
            }
        };
        if stream.is_none() {
            match TcpStream::connect(behaviour.target).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    stream = Some(s);
                }
                Err(_) => {
                    unacknowledged = Some(packet);
                    continue;
                }
            }
        }
        let Some(s) = stream.as_mut() else { continue };
        let outcome = send_one(s, &packet, &behaviour, &mut rng, &mut stats).await;
        match outcome {
            Sent::Acknowledged(latency) => {
                stats.acknowledged += 1;
                stats.ack_latencies_ms.push(latency.as_secs_f64() * 1000.0);
            }
            Sent::CorruptedOnPurpose => unacknowledged = Some(packet),
            Sent::Lost => {
                unacknowledged = Some(packet);
                stream = None;
                stats.reconnects += 1;
            }
        }
    }
    stats
}

enum Sent {
    Acknowledged(Duration),
    /// Deliberately corrupted: the gateway quarantines it and does not answer; the good copy follows.
    CorruptedOnPurpose,
    Lost,
}

async fn send_one(
    stream: &mut TcpStream,
    packet: &[u8],
    behaviour: &Behaviour,
    rng: &mut Rng,
    stats: &mut DeviceStats,
) -> Sent {
    stats.sent += 1;
    let faults = behaviour.faults;
    if faults && rng.unit() < 0.02 {
        let mut corrupted = packet.to_vec();
        let crc_at = corrupted.len().saturating_sub(6);
        if let Some(byte) = corrupted.get_mut(crc_at) {
            *byte = if *byte == b'0' { b'1' } else { b'0' };
        }
        stats.bad_crc_sent += 1;
        return match stream.write_all(&corrupted).await {
            Ok(()) => Sent::CorruptedOnPurpose,
            Err(_) => Sent::Lost,
        };
    }
    if faults
        && rng.unit() < 0.02
        && stream
            .write_all(b"\x01\x03\x00\x00\x00\x0a\xc5\xcd")
            .await
            .is_err()
    {
        return Sent::Lost;
    }
    let written = if faults && rng.unit() < 0.05 {
        let cut = 1 + (rng.next_u64() as usize) % packet.len().saturating_sub(1).max(1);
        let (head, tail) = packet.split_at(cut.min(packet.len()));
        let first = stream.write_all(head).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        match first {
            Ok(()) => stream.write_all(tail).await,
            Err(e) => Err(e),
        }
    } else {
        stream.write_all(packet).await
    };
    if written.is_err() {
        return Sent::Lost;
    }
    let sent_at = Instant::now();
    if faults && rng.unit() < 0.005 {
        // Hang up before the reply: the packet may be stored, but unacknowledged it is sent again.
        return Sent::Lost;
    }
    match tokio::time::timeout(behaviour.ack_timeout, read_reply(stream)).await {
        Ok(Some(reply)) if reply.windows(8).any(|w| w == b"CN=9014;") => {
            Sent::Acknowledged(sent_at.elapsed())
        }
        _ => Sent::Lost,
    }
}

/// Reads one CRLF-terminated reply (replies are short; anything longer is not ours).
async fn read_reply(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut reply = Vec::with_capacity(128);
    let mut byte = [0u8; 256];
    loop {
        let n = stream.read(&mut byte).await.ok()?;
        if n == 0 {
            return None;
        }
        reply.extend_from_slice(&byte[..n]);
        if reply.ends_with(b"\r\n") {
            return Some(reply);
        }
        if reply.len() > 4096 {
            return None;
        }
    }
}

/// p-th percentile (0–100) of unsorted values.
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
    values[rank.min(values.len() - 1)]
}

/// Keeps `devices` sending live minute data to `target` in the background (the demo's "alive" platform):
/// they catch up the last half hour at one packet every 5 s, then send each minute as it ends.
pub fn spawn_live(devices: Vec<SimDevice>, target: SocketAddr) {
    let behaviour = Behaviour {
        target,
        rate: 0.2,
        faults: false,
        ack_timeout: Duration::from_secs(30),
        first_minute: kernel::time::now_ts() / 60 * 60 - 30 * 60,
        live: true,
    };
    let forever = Instant::now() + Duration::from_secs(100 * 365 * 86_400);
    for (i, device) in devices.into_iter().enumerate() {
        tokio::spawn(run_device(device, i as u64 + 1, behaviour.clone(), forever));
    }
}
