//! What happens to one frame: checked against its device, then accepted as data (with the reply it is owed)
//! or quarantined. No I/O here: the connection looks the device up and hands the decision to the writer.

use hj212::packet::{PeriodKind, Suffix};
use hj212::{Frame, Packet, ProtocolVersion};
use readings::{DataFlag, Period};

use crate::model::{
    AcceptedPacket, Device, QuarantineReason, QuarantinedPacket, StoredBytes, dedup_key,
};

/// The outcome of checking a frame.
#[derive(Debug)]
pub enum Decision {
    /// Store it; once stored, send `reply` (a 9014/9013) when the packet asks for one.
    Accept {
        packet: Box<AcceptedPacket>,
        reply: Option<Vec<u8>>,
    },
    Quarantine(Box<QuarantinedPacket>),
}

/// A frame whose segment is not a packet at all (no device can be named).
pub fn unreadable(frame: &Frame, error: &hj212::PacketError, peer: &str, now: i64) -> Decision {
    quarantine(
        frame,
        None,
        None,
        QuarantineReason::Unreadable,
        error.to_string(),
        peer,
        now,
    )
}

fn quarantine(
    frame: &Frame,
    mn: Option<&str>,
    device_id: Option<i64>,
    reason: QuarantineReason,
    detail: String,
    peer: &str,
    now: i64,
) -> Decision {
    Decision::Quarantine(Box::new(QuarantinedPacket {
        received_at: now,
        peer: peer.to_string(),
        mn: mn.map(str::to_string),
        device_id,
        reason,
        detail,
        bytes: StoredBytes::of(frame.raw()),
        dedup_key: dedup_key(mn.unwrap_or(""), frame.raw()),
    }))
}

/// Checks a parsed packet against the registry's record of its MN (`None`: not registered).
pub fn decide(
    frame: &Frame,
    packet: &Packet<'_>,
    device: Option<&Device>,
    peer: &str,
    now: i64,
) -> Decision {
    let mn = packet.mn.unwrap_or("");
    let Some(device) = device else {
        return quarantine(
            frame,
            Some(mn),
            None,
            QuarantineReason::UnknownDevice,
            format!("MN {mn:?} is not a registered device"),
            peer,
            now,
        );
    };
    if !device.active {
        return quarantine(
            frame,
            Some(mn),
            Some(device.id),
            QuarantineReason::InactiveDevice,
            "the device is registered as inactive".to_string(),
            peer,
            now,
        );
    }
    // CRC before password: with a corrupted segment the password field may be what got corrupted.
    let verdict = frame.crc_verdict();
    if !device.crc_mode.accepts(verdict) {
        let detail = match verdict {
            hj212::CrcVerdict::Bad { expected, found } => format!(
                "CRC {} where {expected:04X} was expected",
                found.map_or_else(|| "not hex".to_string(), |f| format!("{f:04X}"))
            ),
            _ => format!(
                "CRC verdict {} refused by the device's mode {:?}",
                verdict.label(),
                device.crc_mode
            ),
        };
        return quarantine(
            frame,
            Some(mn),
            Some(device.id),
            QuarantineReason::BadCrc,
            detail,
            peer,
            now,
        );
    }
    if packet.pw.unwrap_or("") != device.password {
        return quarantine(
            frame,
            Some(mn),
            Some(device.id),
            QuarantineReason::WrongPassword,
            "PW does not match the registered password".to_string(),
            peer,
            now,
        );
    }
    let version = packet.version();
    let warning = (version_label(version) != device.protocol).then(|| {
        format!(
            "packet speaks HJ 212-{} but the device is registered as {}",
            version_label(version),
            device.protocol
        )
    });
    let data_time = packet.data_time().map(|t| t.timestamp());
    let clock_drift_seconds = packet.qn_time().map(|t| t.timestamp() - now).or_else(|| {
        (packet.period() == Some(PeriodKind::RealTime))
            .then_some(data_time)
            .flatten()
            .map(|t| t - now)
    });
    let reply = hj212::encode::reply_to(packet).and_then(Result::ok);
    Decision::Accept {
        packet: Box::new(AcceptedPacket {
            received_at: now,
            peer: peer.to_string(),
            device_id: device.id,
            point_id: device.point_id,
            mn: mn.to_string(),
            cn: i64::from(packet.cn),
            qn: packet.qn.map(str::to_string),
            data_time,
            bytes: StoredBytes::of(frame.raw()),
            crc: verdict.label(),
            dedup_key: dedup_key(mn, frame.raw()),
            readings: readings_of(packet, device.point_id),
            clock_drift_seconds,
            warning,
        }),
        reply,
    }
}

fn version_label(version: ProtocolVersion) -> &'static str {
    match version {
        ProtocolVersion::Hj2005 => "2005",
        ProtocolVersion::Hj2017 => "2017",
        ProtocolVersion::Hj2025 => "2025",
        ProtocolVersion::Unknown(_) => "unknown",
    }
}

/// The values the readings store keeps: `-Rtd` of real-time uploads, `-Avg` of minute, hour and day uploads
/// (the store holds one value per factor and period; `-Min`, `-Max`, `-Cou` stay in the stored packet).
/// Codes the store cannot hold and non-finite numbers are left to the packet as well.
pub fn readings_of(packet: &Packet<'_>, point_id: i64) -> Vec<readings::Reading> {
    let Some(kind) = packet.period() else {
        return Vec::new();
    };
    let (period, wanted) = match kind {
        PeriodKind::RealTime => (Period::Rtd, Suffix::Rtd),
        PeriodKind::Minute => (Period::Minute, Suffix::Avg),
        PeriodKind::Hour => (Period::Hour, Suffix::Avg),
        PeriodKind::Day => (Period::Day, Suffix::Avg),
    };
    packet
        .readings()
        .into_iter()
        .filter(|r| r.suffix == wanted)
        .filter(|r| readings::factors::is_plausible_code(r.factor))
        .filter(|r| r.value.is_none_or(f64::is_finite))
        .filter_map(|r| {
            Some(readings::Reading {
                point_id,
                factor: r.factor.to_string(),
                ts: r.data_time?.timestamp(),
                period,
                value: r.value,
                flag: r
                    .flag
                    .and_then(|f| DataFlag::parse(&f.letter().to_string()))
                    .unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hj212::FrameDecoder;

    fn frame_of(text: &str) -> Frame {
        let mut decoder = FrameDecoder::new();
        decoder.push(text.as_bytes());
        decoder.push(b"\r\n");
        decoder
            .next_frame()
            .expect("a frame")
            .expect("a good frame")
    }

    fn encoded(cp: &str, pw: &str, flag: u8) -> String {
        let header = hj212::encode::Header {
            qn: Some("20260101120000000"),
            st: "22",
            cn: 2051,
            pw,
            mn: "MN0001",
            flag: Some(flag),
            subpacket: None,
            backfill: false,
        };
        String::from_utf8(hj212::encode::encode(&header, cp).expect("encodes")).expect("ascii")
    }

    fn device() -> Device {
        Device {
            id: 7,
            mn: "MN0001".into(),
            password: "123456".into(),
            protocol: "2017".into(),
            crc_mode: hj212::CrcMode::Strict,
            point_id: 3,
            active: true,
        }
    }

    #[test]
    fn minute_upload_becomes_avg_readings_with_a_9014() {
        let text = encoded(
            "DataTime=20260101115900;a21026-Avg=12.5,a21026-Max=20,a21026-Flag=N;a34013-Avg=3.1,a34013-Flag=D",
            "123456",
            5,
        );
        let frame = frame_of(text.trim_end());
        let packet = Packet::parse(frame.segment()).expect("parses");
        let Decision::Accept { packet, reply } =
            decide(&frame, &packet, Some(&device()), "peer", 1_767_240_000)
        else {
            panic!("accepted expected");
        };
        let reply = String::from_utf8(reply.expect("a reply")).expect("ascii");
        assert!(reply.contains("CN=9014"), "{reply}");
        assert_eq!(packet.readings.len(), 2);
        assert_eq!(packet.readings[0].factor, "a21026");
        assert_eq!(packet.readings[0].value, Some(12.5));
        assert_eq!(packet.readings[1].flag, DataFlag::D);
        assert_eq!(packet.readings[0].ts, 1_767_239_940);
        // QN 12:00:00 CST = 04:00:00 UTC = 1767240000.
        assert_eq!(packet.clock_drift_seconds, Some(0));
        assert_eq!(packet.warning, None);
    }

    #[test]
    fn unknown_device_wrong_password_and_bad_crc_are_quarantined() {
        let text = encoded("DataTime=20260101115900;a21026-Avg=12.5", "999999", 5);
        let frame = frame_of(text.trim_end());
        let packet = Packet::parse(frame.segment()).expect("parses");
        let reason = |d: Decision| match d {
            Decision::Quarantine(q) => q.reason,
            Decision::Accept { .. } => panic!("quarantine expected"),
        };
        assert_eq!(
            reason(decide(&frame, &packet, None, "p", 0)),
            QuarantineReason::UnknownDevice
        );
        assert_eq!(
            reason(decide(&frame, &packet, Some(&device()), "p", 0)),
            QuarantineReason::WrongPassword
        );
        let mut corrupted = text.trim_end().to_string();
        corrupted.replace_range(corrupted.len() - 4.., "0000");
        let frame = frame_of(&corrupted);
        let packet = Packet::parse(frame.segment()).expect("parses");
        assert_eq!(
            reason(decide(&frame, &packet, Some(&device()), "p", 0)),
            QuarantineReason::BadCrc
        );
        let inactive = Device {
            active: false,
            ..device()
        };
        assert_eq!(
            reason(decide(&frame, &packet, Some(&inactive), "p", 0)),
            QuarantineReason::InactiveDevice
        );
    }

    #[test]
    fn protocol_mismatch_is_accepted_with_a_warning() {
        let text = encoded("DataTime=20260101115900;a21026-Avg=1", "123456", 9);
        let frame = frame_of(text.trim_end());
        let packet = Packet::parse(frame.segment()).expect("parses");
        let Decision::Accept { packet, .. } = decide(&frame, &packet, Some(&device()), "p", 0)
        else {
            panic!("accepted expected");
        };
        assert!(packet.warning.expect("a warning").contains("2025"));
    }
}
