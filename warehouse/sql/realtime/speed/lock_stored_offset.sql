-- lock_stored_offset: read_stored_offset inside a batch's transaction, row locked, so that a second
-- saver of the same partition (a rebalance overlap) waits here ($1 group, $2 topic, $3 partition).
select next_offset from consumer_offsets where group_id = $1 and topic = $2 and partition = $3 for update;
