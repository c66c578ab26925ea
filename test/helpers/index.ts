/** Temporary topics and databases of a test's own, on the real stack. */
export { countMessages, createTestTopics, deleteTestTopics } from './kafka.ts';
export { databaseUrl, withPool, withTempDatabase } from './postgres.ts';
export { waitFor } from './wait.ts';
