-- restart_stored_offset: a stored offset past the end of its partition's log (topic recreated, Kafka
-- data wiped) goes back to $5, where the new log is read from, only if it still holds $4: another
-- member may have saved since ($1 group, $2 topic, $3 partition).
update consumer_offsets set next_offset = $5, updated_at = now()
where group_id = $1 and topic = $2 and partition = $3 and next_offset = $4;
