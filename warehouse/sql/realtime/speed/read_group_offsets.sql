-- read_group_offsets: every stored offset of a group ($1).
select topic, partition, next_offset from consumer_offsets where group_id = $1;
