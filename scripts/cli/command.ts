/** The shape of a CLI command group: `postern <group> [<command>] [args] [--options]`. */
import type { Ctx } from './context.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  required?: boolean;
}

export interface Command {
  summary: string;
  /** Positional arguments as shown in help, e.g. `<address>`; each `<x>` is required. */
  usage: string;
  options?: Record<string, OptionSpec>;
  /** Returns the exit code (0 when omitted). */
  run(ctx: Ctx, args: string[], opts: Record<string, string | boolean | undefined>): Promise<number | void>;
}

export interface Group {
  name: string;
  summary: string;
  /** '' is the group's command when none is named (`postern status`). */
  commands: Record<string, Command>;
}
