/**
 * IMAP migration (issue 20): the use cases (actor first), the background runner and the types.
 */
export { cancelMigration, getMigration, listMigrations, runMigration, startMigration } from './migrations.service.js';
export { MigrationRunner, type RunnerOptions } from './runner.js';
export type { MigrationDeps, MigrationReport, MigrationRunnerPort, MigrationState, MigrationStore, MigrationView, StartMigrationInput } from './migration.types.js';
