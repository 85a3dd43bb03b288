import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** What the compiler said about one snippet: its error codes (e.g. 2345) and messages. */
export interface SnippetResult {
  codes: number[];
  messages: string[];
}

/**
 * Type-checks each snippet as a file of the package's `test/` folder (so `'../src/index.js'`
 * imports the package's source) with the package's own tsconfig, in one program. Only the
 * snippets' own diagnostics are returned.
 */
export function typeCheckSnippets(
  packageDir: string,
  snippets: Readonly<Record<string, string>>,
): Record<string, SnippetResult> {
  const configPath = join(packageDir, 'tsconfig.json');
  const config = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error(`cannot read ${configPath}`);
  const files = new Map(
    Object.entries(snippets).map(([name, text]) => [join(packageDir, 'test', `__snippet_${name}.ts`), text]),
  );
  const options = { ...config.options, noEmit: true };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, onError, fresh) => {
    const text = files.get(fileName);
    return text === undefined
      ? getSourceFile(fileName, language, onError, fresh)
      : ts.createSourceFile(fileName, text, language);
  };
  host.fileExists = (fileName) => files.has(fileName) || existsSync(fileName);
  host.readFile = (fileName) =>
    files.get(fileName) ?? (existsSync(fileName) ? readFileSync(fileName, 'utf8') : undefined);
  const program = ts.createProgram([...files.keys()], options, host);
  const results: Record<string, SnippetResult> = {};
  for (const [fileName] of files) {
    const source = program.getSourceFile(fileName);
    if (!source) throw new Error(`the compiler did not load ${fileName}`);
    const diagnostics = [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ];
    const name = fileName.slice(fileName.lastIndexOf('__snippet_') + '__snippet_'.length, -'.ts'.length);
    results[name] = {
      codes: diagnostics.map((d) => d.code),
      messages: diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    };
  }
  return results;
}
