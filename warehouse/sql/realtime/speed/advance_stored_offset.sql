-- advance_stored_offset: a saved batch moves the partition's offset ($1 group, $2 topic, $3 partition)
-- to $4, only if it still holds $5 (what the saver read): otherwise nothing is updated.
update consumer_offsets set next_offset = $4, updated_at = now()
where group_id = $1 and topic = $2 and partition = $3 and next_offset = $5;
