/**
 * `fhirgate`: the admin CLI. Onboard users (Cognito user + role group + link record in one step),
 * manage who may act for which patient, register SMART Backend Services clients, get tokens for
 * curl sessions, and ask the authorizer what it makes of a token.
 *
 * Exit codes: 0 ok, 1 failed (or the token was refused), 2 usage. Every error is one stderr line.
 */
import { Command, CommanderError } from 'commander';
import { registerApps } from './commands/apps';
import { registerClients } from './commands/clients';
import { registerLinks } from './commands/links';
import { registerSmoke } from './commands/smoke';
import { registerToken } from './commands/token';
import { registerUsers } from './commands/users';
import { registerWhoami } from './commands/whoami';
import { Runner } from './context';
import { CliError, EXIT, oneLine } from './errors';
import { Io, processIo } from './output';

/** Build the command tree; exported for the help test and for reuse. */
export function buildProgram(runner: Runner): Command {
  const { io } = runner;
  const program = new Command('fhirgate')
    .description('fhirgate admin: onboard users, manage who may act for which patient, register backend clients')
    .option('--local', 'target the local stack ($FHIRGATE_DIR/stack.json, default .local/stack.json)')
    .option('--stack <name>', 'target a deployed CloudFormation stack (standard AWS credentials and region)')
    .option('--region <region>', 'AWS region of --stack (default: the standard AWS region chain)')
    .option('--fhir-url <url>', 'FHIR store base URL for patient checks (default: the local stack\'s FHIR store; in AWS, the HealthLake endpoint, SigV4-signed)')
    .option('--json', 'print results as JSON (for scripts)')
    // Commander must not exit or print on its own: main maps its errors to one line and exit code 2.
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s), outputError: () => undefined })
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      '\nGlobal options may follow the command: fhirgate users create --local …\n' +
        'Exit codes: 0 ok, 1 failed (or token refused), 2 usage error.\n\n' +
        'Examples:\n' +
        '  fhirgate --local users create --email erin@example.com --role patient --create-patient --password \'Erin-Passw0rd!\'\n' +
        '  fhirgate --local links remove-patient --user carols-mother --patient pat-carol\n' +
        '  fhirgate --local clients register --client-id reporting-etl --jwks-file etl-jwks.json --scope system/Observation.rs\n' +
        "  fhirgate --local apps register --client-id growth-chart --redirect-uri https://apps.example.com/growth/ --scope 'openid fhirUser launch/patient patient/*.rs'\n" +
        '  fhirgate --local token --user alice | fhirgate --local whoami --token -\n' +
        '  fhirgate --stack Fhirgate smoke --fhir-url <HealthLake endpoint>',
    );
  registerUsers(program, runner);
  registerLinks(program, runner);
  registerClients(program, runner);
  registerApps(program, runner);
  registerToken(program, runner);
  registerWhoami(program, runner);
  registerSmoke(program, runner);
  return program;
}

/** Run the CLI on `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const runner = new Runner(io);
  try {
    await buildProgram(runner).parseAsync([...argv], { from: 'user' });
    return runner.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end as "errors" with exit code 0; everything else commander raises is usage.
      if (err.exitCode === 0) return EXIT.ok;
      if (err.code === 'commander.help' || err.code === 'commander.helpDisplayed') return EXIT.usage; // help shown for a missing subcommand
      io.stderr(`fhirgate: ${oneLine(err.message.replace(/^error: /, ''))}\n`);
      return EXIT.usage;
    }
    if (err instanceof CliError) {
      io.stderr(`fhirgate: ${oneLine(err.message)}\n`);
      return err.exitCode;
    }
    // A bug, or an error no layer expected: still one line, and never a stack trace full of tokens.
    io.stderr(`fhirgate: unexpected error: ${oneLine(err instanceof Error ? `${err.name}: ${err.message}` : String(err))}\n`);
    return EXIT.failed;
  }
}
