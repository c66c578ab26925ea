-- mark_dead_letters_replayed: dead letters ($1, an array of ids) Kafka acknowledged as sent again,
-- in the replay's transaction.
update dead_letters set replayed_at = now(), replay_count = replay_count + 1 where dead_letter_id = any($1::bigint[]);
