//! Sub-packets (D bit, PNUM/PNO) put back together. Each sub-packet has its own QN (and is acknowledged on
//! its own), so parts are grouped by device, command, DataTime and PNUM (standard C.47–C.50), not by QN.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use crate::packet::{Cp, Packet, PacketWarning};

/// What identifies the parts of one split upload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupKey {
    pub mn: String,
    pub cn: u16,
    /// `DataTime` as sent (empty when absent).
    pub data_time: String,
    pub pnum: u32,
}

/// One received part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub pno: u32,
    pub qn: Option<String>,
    /// The CP data area of this part.
    pub cp: String,
}

/// A complete upload: parts ordered by PNO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassembled {
    pub key: GroupKey,
    pub parts: Vec<Part>,
}

impl Reassembled {
    /// The data areas joined with `;`, each part's DataTime included once per part as sent.
    pub fn cp_text(&self) -> String {
        let texts: Vec<&str> = self
            .parts
            .iter()
            .map(|part| part.cp.as_str())
            .filter(|text| !text.is_empty())
            .collect();
        texts.join(";")
    }

    /// Parses a joined data area produced by [`Reassembled::cp_text`].
    pub fn parse_cp<'a>(text: &'a str, warnings: &mut Vec<PacketWarning<'a>>) -> Cp<'a> {
        Cp::parse(text, warnings)
    }
}

/// A group given up on (expired or evicted): which parts had arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incomplete {
    pub key: GroupKey,
    pub received: Vec<u32>,
}

/// The outcome of offering a packet to the reassembler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offer {
    /// Not a sub-packet: use it as it is.
    Whole,
    /// Stored; `received` of `total` parts so far.
    Waiting { received: usize, total: u32 },
    /// This part completed the group.
    Complete(Reassembled),
    /// A part already held (a resend); ignored.
    Duplicate,
    /// PNUM/PNO missing or PNO outside 0..=PNUM.
    Invalid,
}

struct Pending {
    parts: BTreeMap<u32, Part>,
    first_seen: DateTime<Utc>,
}

/// Holds incomplete groups, bounded in number.
pub struct Reassembler {
    pending: HashMap<GroupKey, Pending>,
    max_groups: usize,
}

impl Reassembler {
    pub fn new(max_groups: usize) -> Reassembler {
        Reassembler {
            pending: HashMap::new(),
            max_groups: max_groups.max(1),
        }
    }

    pub fn pending_groups(&self) -> usize {
        self.pending.len()
    }

    /// Offers a parsed packet received at `now`. When a new group would exceed the bound, the oldest group
    /// is evicted and returned alongside.
    pub fn offer(
        &mut self,
        packet: &Packet<'_>,
        now: DateTime<Utc>,
    ) -> (Offer, Option<Incomplete>) {
        if !packet.is_subpacket() {
            return (Offer::Whole, None);
        }
        let (Some(pnum), Some(pno)) = (packet.pnum, packet.pno) else {
            return (Offer::Invalid, None);
        };
        // PNO is 1-based in the standard's examples; a 0-based device still completes by count.
        if pnum == 0 || pno > pnum {
            return (Offer::Invalid, None);
        }
        if pnum == 1 {
            let key = group_key(packet, pnum);
            let part = Part {
                pno,
                qn: packet.qn.map(str::to_owned),
                cp: packet.cp.raw.to_owned(),
            };
            return (
                Offer::Complete(Reassembled {
                    key,
                    parts: vec![part],
                }),
                None,
            );
        }
        let key = group_key(packet, pnum);
        let mut evicted = None;
        if !self.pending.contains_key(&key) && self.pending.len() >= self.max_groups {
            evicted = self.evict_oldest();
        }
        let group = self.pending.entry(key.clone()).or_insert_with(|| Pending {
            parts: BTreeMap::new(),
            first_seen: now,
        });
        if group.parts.contains_key(&pno) {
            return (Offer::Duplicate, evicted);
        }
        group.parts.insert(
            pno,
            Part {
                pno,
                qn: packet.qn.map(str::to_owned),
                cp: packet.cp.raw.to_owned(),
            },
        );
        let received = group.parts.len();
        if received < pnum as usize {
            return (
                Offer::Waiting {
                    received,
                    total: pnum,
                },
                evicted,
            );
        }
        let parts = self
            .pending
            .remove(&key)
            .map(|group| group.parts.into_values().collect())
            .unwrap_or_default();
        (Offer::Complete(Reassembled { key, parts }), evicted)
    }

    /// Gives up on groups first seen before `cutoff` (the standard's execution timeout has passed).
    pub fn expire(&mut self, cutoff: DateTime<Utc>) -> Vec<Incomplete> {
        let stale: Vec<GroupKey> = self
            .pending
            .iter()
            .filter(|(_, group)| group.first_seen < cutoff)
            .map(|(key, _)| key.clone())
            .collect();
        stale.into_iter().filter_map(|key| self.take(key)).collect()
    }

    fn evict_oldest(&mut self) -> Option<Incomplete> {
        let oldest = self
            .pending
            .iter()
            .min_by_key(|(_, group)| group.first_seen)
            .map(|(key, _)| key.clone())?;
        self.take(oldest)
    }

    fn take(&mut self, key: GroupKey) -> Option<Incomplete> {
        let group = self.pending.remove(&key)?;
        Some(Incomplete {
            key,
            received: group.parts.into_keys().collect(),
        })
    }
}

fn group_key(packet: &Packet<'_>, pnum: u32) -> GroupKey {
    GroupKey {
        mn: packet.mn.unwrap_or("").to_owned(),
        cn: packet.cn,
        data_time: packet.cp.param("DataTime").unwrap_or("").to_owned(),
        pnum,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Suffix;
    use crate::time::parse_cst;

    fn part(qn: &str, pno: u32, values: &str) -> String {
        format!(
            "QN={qn};ST=31;CN=2051;PW=123456;MN=M1;Flag=7;PNUM=3;PNO={pno};CP=&&DataTime=20240601084000;{values}&&"
        )
    }

    #[test]
    fn three_parts_out_of_order_with_a_resend() {
        let now = parse_cst("20240601084100").unwrap();
        let mut reassembler = Reassembler::new(8);
        let texts = [
            part("20240601084100001", 2, "a21002-Avg=2,a21002-Flag=N"),
            part("20240601084100000", 1, "a21026-Avg=1,a21026-Flag=N"),
            part("20240601084100001", 2, "a21002-Avg=2,a21002-Flag=N"),
            part("20240601084100002", 3, "a34013-Avg=3,a34013-Flag=D"),
        ];
        let packets: Vec<Packet<'_>> = texts
            .iter()
            .map(|text| Packet::parse_str(text).unwrap())
            .collect();
        assert_eq!(
            reassembler.offer(&packets[0], now).0,
            Offer::Waiting {
                received: 1,
                total: 3
            }
        );
        assert_eq!(
            reassembler.offer(&packets[1], now).0,
            Offer::Waiting {
                received: 2,
                total: 3
            }
        );
        assert_eq!(reassembler.offer(&packets[2], now).0, Offer::Duplicate);
        let (Offer::Complete(whole), None) = reassembler.offer(&packets[3], now) else {
            panic!("not complete")
        };
        assert_eq!(reassembler.pending_groups(), 0);
        assert_eq!(
            whole.parts.iter().map(|part| part.pno).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(whole.key.data_time, "20240601084000");
        let text = whole.cp_text();
        let mut warnings = Vec::new();
        let cp = Reassembled::parse_cp(&text, &mut warnings);
        assert_eq!(cp.measure("a21026", Suffix::Avg), Some("1"));
        assert_eq!(cp.measure("a34013", Suffix::Flag), Some("D"));
        assert!(warnings.is_empty());
    }

    #[test]
    fn whole_invalid_expired_and_evicted() {
        let now = parse_cst("20240601084100").unwrap();
        let mut reassembler = Reassembler::new(1);
        let whole = Packet::parse_str("ST=31;CN=2051;MN=M1;Flag=5;CP=&&a-Avg=1&&").unwrap();
        assert_eq!(reassembler.offer(&whole, now).0, Offer::Whole);
        let invalid =
            Packet::parse_str("ST=31;CN=2051;MN=M1;Flag=7;PNUM=2;PNO=3;CP=&&a-Avg=1&&").unwrap();
        assert_eq!(reassembler.offer(&invalid, now).0, Offer::Invalid);

        let first = Packet::parse_str(
            "ST=31;CN=2051;MN=M1;Flag=6;PNUM=2;PNO=1;CP=&&DataTime=20240601084000&&",
        )
        .unwrap();
        let other = Packet::parse_str(
            "ST=31;CN=2051;MN=M2;Flag=6;PNUM=2;PNO=1;CP=&&DataTime=20240601084000&&",
        )
        .unwrap();
        reassembler.offer(&first, now);
        let (offer, evicted) = reassembler.offer(&other, now + chrono::Duration::seconds(1));
        assert_eq!(
            offer,
            Offer::Waiting {
                received: 1,
                total: 2
            }
        );
        assert_eq!(evicted.unwrap().key.mn, "M1");
        let expired = reassembler.expire(now + chrono::Duration::seconds(60));
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].received, vec![1]);
        assert_eq!(reassembler.pending_groups(), 0);
    }
}
