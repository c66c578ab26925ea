-- insert_dead_letters: the dead letters of one partition batch ($1 source topic, $2 source partition;
-- $3..$6 arrays of offsets, keys, reasons and payloads, one element each), in the batch's transaction.
-- A dead letter already recorded (a replayed batch) is left alone.
insert into dead_letters (source_topic, source_partition, source_offset, message_key, reason, payload)
select $1, $2, o, k, r, p from unnest($3::bigint[], $4::text[], $5::text[], $6::text[]) as d(o, k, r, p)
on conflict (source_topic, source_partition, source_offset) do nothing;
