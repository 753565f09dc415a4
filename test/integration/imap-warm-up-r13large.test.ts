/**
 * The IMAP warm-up at server start (issue 18, thirteenth round) runs FETCH (FLAGS)' line writer
 * and SELECT's session-free pieces on made-up values, and they answer as made.
 */
import { describe, expect, it } from 'vitest';
import { warmUpImapCommands } from '../../appliance/imap/warm-up.js';

describe('IMAP warm-up (r13large)', () => {
  it('runs on made-up values and gets the made-up answers', () => {
    expect(warmUpImapCommands()).toBe(true);
  });
});
