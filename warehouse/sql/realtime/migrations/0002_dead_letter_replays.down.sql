drop index if exists dead_letters_topic_reason_idx;
alter table dead_letters
    drop column if exists replay_count,
    drop column if exists replayed_at;
