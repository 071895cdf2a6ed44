/**
 * What every command runs with: the target (opened from the global options, closed afterwards),
 * the links table, and the output. Commands return an exit code or nothing (0).
 */
import type { Command } from 'commander';
import { LinkTable } from './link-table';
import { Io, Output } from './output';
import { openTarget, Target } from './target';

/** Options every command accepts (declared on the program, usable after the command name). */
export interface GlobalOptions {
  readonly local?: boolean;
  readonly stack?: string;
  readonly region?: string;
  readonly fhirUrl?: string;
  readonly json?: boolean;
}

export interface Context {
  readonly target: Target;
  readonly links: LinkTable;
  readonly out: Output;
  readonly io: Io;
}

export type CommandBody = (ctx: Context) => Promise<number | void>;

/** Runs command bodies against the target; remembers the exit code for main. */
export class Runner {
  exitCode = 0;

  constructor(readonly io: Io) {}

  output(cmd: Command): Output {
    return new Output(this.io, Boolean(cmd.optsWithGlobals<GlobalOptions>().json));
  }

  async run(cmd: Command, body: CommandBody): Promise<void> {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    const target = await openTarget({ local: g.local, stack: g.stack, region: g.region, fhirUrl: g.fhirUrl }, this.io.env, this.io.cwd);
    try {
      const hint = target.kind === 'local' ? ' (is the local stack running? npm start)' : '';
      const links = new LinkTable(target.dynamo, target.linksTable, hint);
      this.exitCode = (await body({ target, links, out: this.output(cmd), io: this.io })) ?? 0;
    } finally {
      target.close();
    }
  }
}
