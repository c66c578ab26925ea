-- insert_stored_offset: the first saved batch of a partition ($1 group, $2 topic, $3 partition,
-- $4 next offset); a row written meanwhile by another saver makes it insert nothing.
insert into consumer_offsets (group_id, topic, partition, next_offset) values ($1, $2, $3, $4)
on conflict do nothing;
