-- read_stored_offset: the next offset the realtime database holds for one partition of a group
-- ($1 group, $2 topic, $3 partition); no row: nothing saved yet.
select next_offset from consumer_offsets where group_id = $1 and topic = $2 and partition = $3;
