-- Dead letters can be replayed after a fix (a contract, the catalog, the database): the original
-- payload goes back to its source topic and through the savers, which save it once by event id.
-- replayed_at marks what was sent, so a second replay does not send it again; replay_count says
-- how often it was sent (an explicit --ids replay may send a row again, harmlessly).
alter table dead_letters
    add column replayed_at  timestamptz,
    add column replay_count integer not null default 0;

-- `lambdamart dlq list` groups by reason within a topic, newest first.
create index dead_letters_topic_reason_idx on dead_letters (source_topic, reason, ingested_at desc);
