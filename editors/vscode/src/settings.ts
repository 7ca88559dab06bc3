// Maps the `nntutor.*` settings to what the server reads: the same shape as `[tool.nntutor]`
// in pyproject.toml. Pure (no `vscode` import) so it is unit-tested in plain node.

export const SEVERITIES = ['error', 'warning', 'info', 'hint'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface RuleSettings {
  select: string[];
  ignore: string[];
  severity: Record<string, Severity>;
  /** Glob patterns of files to leave alone, added to `exclude` in pyproject.toml. */
  exclude: string[];
}

/** Sent as `initializationOptions` and as `{nntutor: ...}` in `workspace/didChangeConfiguration`. */
export interface MappedSettings {
  settings: RuleSettings;
  /** Human-readable problems with the user's values; they are dropped, not sent. */
  problems: string[];
}

/** Anything with a `get` like `vscode.WorkspaceConfiguration`. */
export interface ConfigReader {
  get<T>(section: string): T | undefined;
}

export function ruleSettings(config: ConfigReader): MappedSettings {
  const problems: string[] = [];
  const select = stringList(config.get<unknown>('select'), 'nntutor.select', problems);
  const ignore = stringList(config.get<unknown>('ignore'), 'nntutor.ignore', problems);
  const exclude = stringList(config.get<unknown>('exclude'), 'nntutor.exclude', problems, 'glob pattern');
  const severity: Record<string, Severity> = {};
  const raw = config.get<unknown>('severity');
  if (raw !== undefined && raw !== null) {
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push('nntutor.severity must be an object of rule id -> severity');
    } else {
      for (const [rule, level] of Object.entries(raw as Record<string, unknown>)) {
        const normalized = typeof level === 'string' ? level.trim().toLowerCase() : level;
        if (typeof normalized === 'string' && (SEVERITIES as readonly string[]).includes(normalized)) {
          severity[rule] = normalized as Severity;
        } else {
          problems.push(`nntutor.severity.${rule}: ${JSON.stringify(level)} is not one of ${SEVERITIES.join(', ')}`);
        }
      }
    }
  }
  return { settings: { select, ignore, severity, exclude }, problems };
}

function stringList(value: unknown, name: string, problems: string[], what = 'rule id'): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.push(`${name} must be an array of ${what}s`);
    return [];
  }
  const out: string[] = [];
  for (const item of value) {
    if (typeof item === 'string' && item.trim()) out.push(item.trim());
    else problems.push(`${name}: ${JSON.stringify(item)} is not a ${what}`);
  }
  return out;
}

/** Settings whose change needs a new server process, not just a configuration notification. */
export const RESTART_SETTINGS = ['nntutor.path', 'nntutor.interpreter', 'nntutor.fastStart'];
/** Settings the running server is told about. */
export const RULE_SETTINGS = ['nntutor.select', 'nntutor.ignore', 'nntutor.severity', 'nntutor.exclude'];
