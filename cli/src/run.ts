/** The CLI as a function: argv in, exit code out, every effect through {@link CliDeps}. */
import { parseCommandLine, type Env } from './args';
import { downloadCommand } from './commands/download';
import { statusCommand } from './commands/status';
import { uploadCommand } from './commands/upload';
import type { CliDeps } from './deps';
import { ExitCode } from './exit-codes';
import { helpText, usageHint } from './help';

export async function run(argv: readonly string[], env: Env, deps: CliDeps): Promise<number> {
  if (argv.length === 0) {
    // Bare `imgpipe`: the overview, on stderr since it is not what was asked for.
    deps.stderr.write(helpText());
    return ExitCode.usage;
  }
  const parsed = parseCommandLine(argv, env);
  if (!parsed.ok) {
    deps.stderr.write(`imgpipe: ${parsed.message}\n${usageHint(parsed.topic)}\n`);
    return ExitCode.usage;
  }
  const inv = parsed.invocation;
  switch (inv.command) {
    case 'help':
      deps.stdout.write(helpText(inv.topic));
      return ExitCode.ok;
    case 'version':
      deps.stdout.write(`${deps.version}\n`);
      return ExitCode.ok;
    case 'upload':
      return uploadCommand(inv, deps);
    case 'status':
      return statusCommand(inv, deps);
    case 'download':
      return downloadCommand(inv, deps);
  }
}
