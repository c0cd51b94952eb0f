-- The raw packets' dedup key gets the packet's DataTime (UTC seconds, 0 when it has none) in front of the
-- SHA-256: a batch's packets (the same minutes) then sit next to each other in the key's index instead of one
-- index page per packet, which the gateway's commits spent most of their writing on. Keys stored before keep
-- matching their resends: they are given the same prefix here.
UPDATE hj212_packets SET dedup_key = CAST(COALESCE(data_time, 0) AS TEXT) || '-' || dedup_key
WHERE dedup_key NOT LIKE '%-%';
