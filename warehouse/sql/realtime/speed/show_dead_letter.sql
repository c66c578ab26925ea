-- show_dead_letter: one dead letter, whole (`lambdamart dlq show $1`).
select dead_letter_id::int as dead_letter_id, source_topic, source_partition, source_offset::int as source_offset,
       message_key, reason, payload, ingested_at, replayed_at, replay_count
from dead_letters where dead_letter_id = $1;
