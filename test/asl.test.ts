import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, type Tags } from 'yaml';
import { STEP_KINDS } from '../lib/domain/plan.ts';
import { endedOutsideItsStates, OWN_FAIL_ERRORS } from '../lib/use-cases/finish-release.ts';
import { catcherProblems, retrierProblems } from '../sandbox/aws/sfn-retry.ts';

const root = path.resolve(import.meta.dirname, '..');
const machinesDir = path.join(root, 'statemachines');

const LAMBDA_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

type Json = Record<string, unknown>;

interface State extends Json {
  Type: string;
  Next?: string;
  Default?: string;
  Choices?: Array<Json & { Next?: string }>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
  Retry?: Array<{ ErrorEquals: string[] }>;
  ItemProcessor?: StateMachine;
  Iterator?: StateMachine;
  Branches?: StateMachine[];
}

interface StateMachine {
  StartAt: string;
  States: Record<string, State>;
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `{ Fn::GetAtt: [fn, Arn] }` as written in the ASL files: the function key, or undefined. */
const getAttFunction = (value: unknown): string | undefined => {
  if (!isObject(value) || Object.keys(value).length !== 1) return undefined;
  const target = value['Fn::GetAtt'];
  if (Array.isArray(target) && target.length === 2 && target[1] === 'Arn' && typeof target[0] === 'string')
    return target[0];
  return undefined;
};

/** Replaces every Lambda `Fn::GetAtt` by a function ARN, collecting the function keys it names. */
const resolveGetAtt = (value: unknown, found: Set<string>): unknown => {
  const fn = getAttFunction(value);
  if (fn !== undefined) {
    found.add(fn);
    return `arn:aws:lambda:us-east-1:123456789012:function:${fn}`;
  }
  if (Array.isArray(value)) return value.map((item) => resolveGetAtt(item, found));
  if (isObject(value))
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveGetAtt(item, found)]));
  return value;
};

/** Every States scope: the machine itself, Map item processors and Parallel branches, with a path for messages. */
const scopes = (machine: StateMachine, where = '(root)'): Array<{ where: string; machine: StateMachine }> => [
  { where, machine },
  ...Object.entries(machine.States).flatMap(([name, state]) => [
    ...(state.ItemProcessor ? scopes(state.ItemProcessor, `${where} > ${name}`) : []),
    ...(state.Iterator ? scopes(state.Iterator, `${where} > ${name}`) : []),
    ...(state.Branches ?? []).flatMap((branch, i) => scopes(branch, `${where} > ${name}[${i}]`)),
  ]),
];

/** CloudFormation short-form tags read as their long form, so serverless.yml parses whichever it uses. */
const cloudFormationTags: Tags = [
  'Ref',
  'GetAtt',
  'Sub',
  'Join',
  'If',
  'Select',
  'Split',
  'ImportValue',
].flatMap((name) => {
  const key = name === 'Ref' ? 'Ref' : `Fn::${name}`;
  const resolveAs = (value: unknown) => ({
    [key]: name === 'GetAtt' && typeof value === 'string' ? value.split('.') : value,
  });
  return [
    { tag: `!${name}`, resolve: (value: string) => resolveAs(value) },
    { tag: `!${name}`, collection: 'seq' as const, resolve: (value: unknown) => resolveAs(value) },
    { tag: `!${name}`, collection: 'map' as const, resolve: (value: unknown) => resolveAs(value) },
  ];
});

const declaredFunctions = (): string[] => {
  const document = parseYaml(readFileSync(path.join(root, 'serverless.yml'), 'utf8'), {
    customTags: cloudFormationTags,
  }) as { functions?: Record<string, unknown> };
  return Object.keys(document.functions ?? {});
};

const files = readdirSync(machinesDir).filter((file) => file.endsWith('.asl.yaml'));
const machines = files.map((file) => {
  const functionKeys = new Set<string>();
  const raw: unknown = parseYaml(readFileSync(path.join(machinesDir, file), 'utf8'));
  const definition = resolveGetAtt(raw, functionKeys) as StateMachine;
  return { file, definition, functionKeys };
});

describe('ASL state machines', () => {
  it('finds at least one state machine', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  describe.each(machines)('$file', ({ definition, functionKeys }) => {
    it('is a valid Amazon States Language definition', () => {
      // asl-validator mutates what it validates.
      const { isValid, errorsText } = aslValidator(structuredClone(definition));
      if (!isValid) console.error(errorsText('\n'));
      expect(isValid, errorsText('\n')).toBe(true);
    });

    it('references only functions declared in serverless.yml', () => {
      expect(functionKeys.size).toBeGreaterThan(0);
      const declared = declaredFunctions();
      expect([...functionKeys].filter((key) => !declared.includes(key))).toEqual([]);
    });

    it('retries the four transient Lambda errors and catches failures in every Task', () => {
      const problems: string[] = [];
      for (const { where, machine } of scopes(definition)) {
        for (const [name, state] of Object.entries(machine.States)) {
          if (state.Type !== 'Task') continue;
          const retried = new Set((state.Retry ?? []).flatMap((retrier) => retrier.ErrorEquals));
          const missing = LAMBDA_ERRORS.filter((error) => !retried.has(error));
          if (missing.length > 0) problems.push(`${where} > ${name}: no Retry on ${missing.join(', ')}`);
          if (!state.Catch || state.Catch.length === 0) problems.push(`${where} > ${name}: no Catch`);
        }
      }
      expect(problems).toEqual([]);
    });

    // asl-validator lets through retriers and catchers CreateStateMachine refuses (BackoffRate 0.5,
    // JitterStrategy PARTIAL, States.ALL before another one): every Retry and Catch is checked as AWS does.
    it('holds only retriers and catchers CreateStateMachine accepts', () => {
      const problems: string[] = [];
      for (const { where, machine } of scopes(definition))
        for (const [name, state] of Object.entries(machine.States)) {
          if (state.Retry !== undefined) problems.push(...retrierProblems(state.Retry, `${where} > ${name}`));
          if (state.Catch !== undefined) problems.push(...catcherProblems(state.Catch, `${where} > ${name}`));
        }
      expect(problems).toEqual([]);
    });

    it('sends every transition to a state that exists in its scope', () => {
      const problems: string[] = [];
      for (const { where, machine } of scopes(definition)) {
        const names = new Set(Object.keys(machine.States));
        const check = (from: string, kind: string, target: string | undefined) => {
          if (target !== undefined && !names.has(target))
            problems.push(`${where} > ${from}: ${kind} "${target}" does not exist`);
        };
        check('(StartAt)', 'StartAt', machine.StartAt);
        for (const [name, state] of Object.entries(machine.States)) {
          check(name, 'Next', state.Next);
          check(name, 'Default', state.Default);
          for (const choice of state.Choices ?? []) check(name, 'Choice Next', choice.Next);
          for (const catcher of state.Catch ?? []) check(name, 'Catch Next', catcher.Next);
        }
      }
      expect(problems).toEqual([]);
    });
  });
});

describe('Release state machine: how a release ends', () => {
  const release = machines.find((m) => m.file === 'release.asl.yaml')?.definition as StateMachine;
  const states = release.States;
  const predecessors = (target: string): string[] =>
    Object.entries(states)
      .filter(([, state]) =>
        [
          state.Next,
          state.Default,
          ...(state.Choices ?? []).map((c) => c.Next),
          ...(state.Catch ?? []).map((c) => c.Next),
        ].includes(target),
      )
      .map(([name]) => name);

  /** Seconds a retrier waits in all, before giving up (without jitter). */
  const retryBudget = (retrier: Json): number => {
    const interval = Number(retrier.IntervalSeconds ?? 1);
    const rate = Number(retrier.BackoffRate ?? 2);
    const cap =
      retrier.MaxDelaySeconds === undefined ? Number.POSITIVE_INFINITY : Number(retrier.MaxDelaySeconds);
    let total = 0;
    for (let attempt = 0; attempt < Number(retrier.MaxAttempts ?? 3); attempt += 1)
      total += Math.min(interval * rate ** attempt, cap);
    return total;
  };
  const allErrorsBudget = (name: string): number => {
    const retrier = (states[name]?.Retry ?? []).find((r) => r.ErrorEquals.includes('States.ALL'));
    return retrier ? retryBudget(retrier as Json) : 0;
  };

  it('releases the lock on every path that ends a release other than promotion', () => {
    const ends = Object.entries(states)
      .filter(([, state]) => state.Type === 'Fail' || state.Type === 'Succeed')
      .map(([name]) => name)
      .filter((name) => name !== 'Release promoted' && name !== 'The old slot is still running');
    expect(ends.length).toBeGreaterThanOrEqual(4);
    for (const end of ends) expect([end, predecessors(end)]).toEqual([end, ['How did the release end?']]);
    expect(predecessors('How did the release end?')).toEqual(['Release the lock and wake the next push']);
  });

  it("hands the service on, through its status-change rule, after every end; the machine's own Fail states are told apart", () => {
    // Each Fail state is reached only after the release was reported and its own hand-off ran (the test
    // above): the hand-off runs again for every end (one that failed past its retries is caught), and
    // only another failure (States.Runtime, ...), a timeout or a person's stop ends and tells the release.
    const failErrors = Object.values(states)
      .filter((state) => state.Type === 'Fail')
      .map((state) => String((state as Json).Error));
    const document = parseYaml(readFileSync(path.join(root, 'serverless.yml'), 'utf8'), {
      customTags: cloudFormationTags,
    }) as {
      functions: Record<
        string,
        { events: Array<{ eventBridge: { pattern: { detail: Record<string, unknown> } } }> }
      >;
    };
    const details = document.functions.handOffEndedExecution?.events.map(
      (event) => event.eventBridge.pattern.detail,
    );
    expect(details?.map((detail) => detail.status)).toEqual([
      ['SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT'],
    ]);
    expect([...OWN_FAIL_ERRORS].sort()).toEqual([...failErrors].sort());
    for (const error of failErrors) expect(endedOutsideItsStates({ status: 'FAILED', error })).toBe(false);
    expect(endedOutsideItsStates({ status: 'FAILED', error: 'States.Runtime' })).toBe(true);
  });

  it('retries releasing the lock and reporting on every error for minutes, then counts a lost notification', () => {
    for (const name of [
      'Release the lock and wake the next push',
      'Hand the service to the next release',
      'Report the failure',
      'Report the failed rollback',
      'Record that a newer push superseded this one',
    ]) {
      expect([name, allErrorsBudget(name) >= 600]).toEqual([name, true]);
    }
    for (const report of [
      'Report the failure',
      'Report the failed rollback',
      'Record that a newer push superseded this one',
    ]) {
      const lost = states[report]?.Catch?.[0]?.Next ?? '';
      expect(lost).toMatch(/^Count the lost /);
      expect(states[lost]?.Next).toBe('Release the lock and wake the next push');
    }
  });

  it('plans again for minutes while an older release rolls back, and records an ignored push for minutes', () => {
    const busy = states['Read what serves and plan the release']?.Retry?.find((r) =>
      r.ErrorEquals.includes('ServiceBusyError'),
    );
    expect(busy).toBeDefined();
    expect(allErrorsBudget('Record that the pushed version already serves')).toBeGreaterThanOrEqual(600);
  });

  it('keeps the old slot warm through the whole rollback window when its watch cannot be set up', () => {
    const watch = states['Watch alarms during the rollback window'];
    const fallback = watch?.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'))?.Next ?? '';
    expect(states[fallback]).toMatchObject({
      Type: 'Wait',
      SecondsPath: '$.cursor.step.rollbackWindowSeconds',
      Next: 'Confirm alarms at the end of the rollback window',
    });
  });

  it('reaches no task whose TimeoutSecondsPath could select 0: a plan without a rollback window skips the watch', () => {
    // AWS fails the execution with States.Runtime (no Catch handles it) when the path selects anything but a
    // positive integer. The only such field a plan may hold at 0 is the retire step's rollback window; the
    // lock wait's comes from acquire-lock, at least 1 (test/unit/use-cases/release-lock.test.ts).
    const withPath = Object.entries(states).filter(([, state]) => state.TimeoutSecondsPath !== undefined);
    expect(withPath.map(([, state]) => state.TimeoutSecondsPath).sort()).toEqual([
      '$.cursor.step.rollbackWindowSeconds',
      '$.cursor.step.seconds',
      '$.cursor.step.timeoutSeconds',
      '$.cursor.step.timeoutSeconds',
      '$.lock.waitSeconds',
    ]);
    const guard = states['Is there a rollback window to watch?'];
    expect(guard).toMatchObject({
      Type: 'Choice',
      Choices: [
        {
          Variable: '$.cursor.step.rollbackWindowSeconds',
          NumericGreaterThan: 0,
          Next: 'Watch alarms during the rollback window',
        },
      ],
      Default: 'Keep the old slot warm until the scale-down delay',
    });
  });

  it('retries the rollback on every error for 10 to 15 minutes', () => {
    const budget = allErrorsBudget('Roll back to the stable version');
    expect(budget).toBeGreaterThanOrEqual(600);
    expect(budget).toBeLessThanOrEqual(900);
  });

  it('reaches the rollback only after the first step set the cursor, which it passes on', () => {
    // The rollback takes `cursor.$: $.cursor` (the step it rolls back from): a path reaching it before
    // "Start with the first step" would fail the state on a missing path, past every Catch.
    const reachedWithoutCursor = new Set<string>();
    const visit = (name: string) => {
      if (reachedWithoutCursor.has(name) || name === 'Start with the first step') return;
      reachedWithoutCursor.add(name);
      const state = states[name];
      for (const next of [
        state?.Next,
        state?.Default,
        ...(state?.Choices ?? []).map((c) => c.Next),
        ...(state?.Catch ?? []).map((c) => c.Next),
      ])
        if (next) visit(next);
    };
    visit(release.StartAt);
    expect(reachedWithoutCursor.has('Read what serves and plan the release')).toBe(true);
    expect(reachedWithoutCursor.has('Roll back to the stable version')).toBe(false);
    expect(reachedWithoutCursor.has('Report the failed rollback')).toBe(false);
    expect(reachedWithoutCursor.has('Count the lost rollback alert')).toBe(false);
    expect(states['Roll back to the stable version']?.Parameters).toMatchObject({ 'cursor.$': '$.cursor' });
  });

  it('watches alarms during the rollback window and rolls back on AlarmAfterPromotion', () => {
    const window = states['Watch alarms during the rollback window'];
    expect(window).toMatchObject({
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      TimeoutSecondsPath: '$.cursor.step.rollbackWindowSeconds',
    });
    expect(predecessors('Watch alarms during the rollback window')).toEqual([
      'Is there a rollback window to watch?',
    ]);
    expect(predecessors('Is there a rollback window to watch?')).toEqual([
      'Hand the service to the next release',
    ]);
    for (const name of [
      'Watch alarms during the rollback window',
      'Confirm alarms at the end of the rollback window',
    ])
      expect(states[name]?.Catch).toContainEqual(
        expect.objectContaining({
          ErrorEquals: ['AlarmAfterPromotion'],
          Next: 'Roll back to the stable version',
        }),
      );
  });
});

describe('Release state machine: the plan, step by step', () => {
  const release = machines.find((m) => m.file === 'release.asl.yaml')?.definition as StateMachine;
  const states = release.States;
  const DISPATCH = 'What is the next step?';
  const dispatch = states[DISPATCH] as State;
  const routeOf = (kind: string): string | undefined =>
    dispatch.Choices?.find(
      (choice) => choice.Variable === '$.cursor.step.kind' && choice.StringEquals === kind,
    )?.Next;
  /** Every kind of the plan vocabulary is carried out (anything else ends in the Default, a rollback). */
  const CARRIED_OUT = STEP_KINDS;

  it("dispatches on the current step's kind with one Choice, one route per kind", () => {
    expect(dispatch.Type).toBe('Choice');
    const kinds = (dispatch.Choices ?? []).map((choice) => choice.StringEquals);
    expect(new Set(kinds).size).toBe(kinds.length);
    expect(kinds.every((kind) => (STEP_KINDS as readonly unknown[]).includes(kind))).toBe(true);
    for (const kind of CARRIED_OUT) expect([kind, routeOf(kind) !== undefined]).toEqual([kind, true]);
    const other = Object.entries(states).filter(
      ([, state]) =>
        state.Type === 'Choice' &&
        (state.Choices ?? []).some((choice) => choice.Variable === '$.cursor.step.kind'),
    );
    expect(other.map(([name]) => name)).toEqual([DISPATCH]);
  });

  it('rolls back a step kind it cannot carry out, naming it', () => {
    expect(states[dispatch.Default ?? '']).toMatchObject({
      Type: 'Pass',
      Parameters: { Error: 'UnsupportedStep' },
      Next: 'Roll back to the stable version',
    });
  });

  it('starts the plan at its first step and comes back to the dispatch after every step but retire', () => {
    expect(states['Start with the first step']).toMatchObject({
      Type: 'Pass',
      Parameters: { index: 0, 'step.$': '$.deployment.plan.steps[0]', shifts: [], rollout: null },
      ResultPath: '$.cursor',
      Next: DISPATCH,
    });
    // A step's function returns the next step's cursor: no state in between.
    for (const name of [
      'Deploy the new version',
      'Shift traffic to the new version',
      'Confirm alarms at the end of the bake',
    ])
      expect([name, states[name]?.Next, states[name]?.ResultPath]).toEqual([name, DISPATCH, '$.cursor']);
    expect(states['Go on to the next step']?.Next).toBe(DISPATCH);
    expect(routeOf('retire')).toBe('Promote the new version');
  });

  it('names every state with a sentence an on-call engineer reads', () => {
    const notSentences = Object.keys(states).filter(
      (name) => !/^[A-Z][a-z']*( [^ ]+)+$/.test(name) || /[a-z][A-Z]/.test(name) || /[_.$]/.test(name),
    );
    expect(notSentences).toEqual([]);
  });

  it('waits for a person at a pause, and its timeout rolls back or goes on as the step says', () => {
    const pause = states[routeOf('pause') ?? ''] as State;
    expect(pause).toMatchObject({
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      TimeoutSecondsPath: '$.cursor.step.timeoutSeconds',
      Next: 'Go on to the next step',
    });
    const timeout = pause.Catch?.find((c) => c.ErrorEquals.includes('States.Timeout'))?.Next ?? '';
    expect(states[timeout]).toMatchObject({
      Type: 'Choice',
      Choices: [
        { Variable: '$.cursor.step.onTimeout', StringEquals: 'continue', Next: 'Go on to the next step' },
      ],
    });
    expect(states[states[timeout]?.Default ?? '']).toMatchObject({
      Type: 'Pass',
      Parameters: { Error: 'PauseTimedOut' },
      Next: 'Roll back to the stable version',
    });
  });

  it("goes on with a person's promotion (BakePromotion) from a bake and from the rollback window", () => {
    // A bake's task returned { outcome: 'promoted', full, by, reason }: the bake function records it and
    // returns the next cursor (the retire step's for a full promotion), back to the dispatch.
    const bakeChoice = states['Did the bake pass?'] as State;
    expect(bakeChoice.Choices).toContainEqual({
      Variable: '$.bake.outcome',
      StringEquals: 'promoted',
      Next: 'Go on as a person promoted the release',
    });
    expect(states['Go on as a person promoted the release']).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:lambda:us-east-1:123456789012:function:confirmBake',
      Parameters: { 'deployment.$': '$.deployment', 'cursor.$': '$.cursor', 'promotion.$': '$.bake' },
      ResultPath: '$.cursor',
      Next: 'What is the next step?',
      Catch: [
        expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Roll back to the stable version' }),
      ],
    });
    // The window's task returned it: the window ends now, recorded, and the old version is retired.
    expect(states['Watch alarms during the rollback window']?.Next).toBe(
      'Did a person end the rollback window?',
    );
    const windowChoice = states['Did a person end the rollback window?'] as State;
    expect(windowChoice).toMatchObject({ Type: 'Choice', Default: 'Scale down the old slot' });
    expect(JSON.stringify(windowChoice.Choices)).toContain('"StringEquals":"promoted"');
    expect(windowChoice.Choices?.[0]?.Next).toBe('End the rollback window as a person promoted the release');
    expect(states['End the rollback window as a person promoted the release']).toMatchObject({
      Resource: 'arn:aws:lambda:us-east-1:123456789012:function:confirmRollbackWindow',
      Parameters: { 'deployment.$': '$.deployment', 'cursor.$': '$.cursor', 'promotion.$': '$.window' },
      Next: 'Scale down the old slot',
      // The release is promoted either way: a failure to record the early end still retires the old version.
      Catch: [expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Scale down the old slot' })],
    });
  });

  it('routes ReleaseAborted (shipline abort) from every waiting state to the rollback, with the reason as the failure', () => {
    const waiting = Object.entries(states).filter(
      ([, state]) => state.Type === 'Task' && String(state.Resource).endsWith('.waitForTaskToken'),
    );
    const routes = Object.fromEntries(
      waiting.map(([name, state]) => {
        // Step Functions takes the first catcher whose ErrorEquals names the error or States.ALL.
        const catcher = (
          state.Catch as Array<{ ErrorEquals: string[]; Next: string; ResultPath?: string }>
        )?.find((c) => c.ErrorEquals.includes('ReleaseAborted') || c.ErrorEquals.includes('States.ALL'));
        return [name, { Next: catcher?.Next, ResultPath: catcher?.ResultPath }];
      }),
    );
    const rollback = { Next: 'Roll back to the stable version', ResultPath: '$.failure' };
    expect(routes).toEqual({
      // A queued push holds nothing yet: it is reported as failed with the reason.
      'Wait for the running release to finish': { Next: 'Report the failure', ResultPath: '$.failure' },
      'Wait until the new version is ready': rollback,
      'Wait for a person to resume the release': rollback,
      'Bake while watching alarms': rollback,
      'Watch alarms during the rollback window': rollback,
    });
  });
});
