/**
 * CEL rules of CRDs: what is refused when the CRD is written (compile errors, unknown functions,
 * bad reason/fieldPath/optionalOldSelf/message), how a rule is evaluated (self, oldSelf,
 * transition rules, ratcheting), the causes and messages as kube-apiserver words them, the
 * Kubernetes extension functions, and the budget that stops a deliberately expensive rule.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { declarationErrors } from '../../../src/api/crd/cel/declared.js';
import { hasRules, ruleErrors } from '../../../src/api/crd/cel/evaluate.js';
import { Meter } from '../../../src/api/crd/cel/meter.js';
import { MAX_BUILT_STRING } from '../../../src/api/crd/cel/strings.js';
import type { JsonSchema } from '../../../src/api/validate.js';

type Rule = Record<string, unknown>;

const node = (rules: Rule[], properties: Record<string, JsonSchema> = {}): JsonSchema => ({
  type: 'object',
  properties,
  'x-kubernetes-validations': rules,
});
const schemaWith = (rules: Rule[]): JsonSchema => ({
  type: 'object',
  properties: {
    spec: node(rules, {
      replicas: { type: 'integer' },
      max: { type: 'integer' },
      ratio: { type: 'number' },
      name: { type: 'string' },
      size: { type: 'string' },
      tags: { type: 'array', items: { type: 'string' } },
      counts: { type: 'array', items: { type: 'integer' } },
      labels: { type: 'object', additionalProperties: { type: 'string' } },
    }),
  },
});
const causes = (rules: Rule[], spec: Record<string, unknown>, old?: Record<string, unknown>): string[] =>
  ruleErrors({ spec }, old === undefined ? undefined : { spec: old }, schemaWith(rules)).map(
    (e) => `${e.path}: ${e.reason ?? ''}: ${e.message}`,
  );
const passes = (rule: string, spec: Record<string, unknown>): void =>
  assert.deepEqual(causes([{ rule }], spec), [], rule);
const fails = (rule: string, spec: Record<string, unknown>): void =>
  assert.deepEqual(
    causes([{ rule }], spec),
    [`spec: FieldValueInvalid: Invalid value: "object": failed rule: ${rule}`],
    rule,
  );

describe('CEL rules when a CRD is written', () => {
  const declared = (rules: Rule[]): string[] =>
    declarationErrors(
      node(rules, {
        a: { type: 'integer' },
        m: { type: 'object', maxProperties: 100, additionalProperties: { type: 'string' } },
      }),
      'x',
      false,
    ).map((e) => `${e.path}: ${e.message}`);

  test('a rule that compiles and calls known functions is accepted', () => {
    assert.deepEqual(
      declared([
        {
          rule: 'self.a > 0 && self.m.all(k, k.lowerAscii() == k)',
          message: 'ok',
          reason: 'FieldValueForbidden',
        },
        {
          rule: 'self.a >= oldSelf.a',
          optionalOldSelf: true,
          messageExpression: '"a was " + string(oldSelf.a)',
        },
        { rule: 'has(self.a)', fieldPath: ".m['app.kubernetes.io/name']" },
        { rule: 'cel.bind(x, self.a, x > 0)' },
      ]),
      [],
    );
  });

  test('each bad rule is one cause at its own path, with the compiler message', () => {
    const table: [Rule, string][] = [
      [
        { rule: 'self.a +' },
        'x.x-kubernetes-validations[0].rule: Invalid value: "self.a +": compilation failed: ERROR: <input>:1:8',
      ],
      [
        { rule: 'frobnicate(self)' },
        'x.x-kubernetes-validations[0].rule: Invalid value: "frobnicate(self)": compilation failed: ERROR: <input>:1:1: undeclared reference to \'frobnicate\'',
      ],
      [{ rule: 'self.a.ip() == 1' }, "undeclared reference to 'ip'"],
      [{ rule: 'other.a > 1' }, "undeclared reference to 'other'"],
      [
        { rule: Array.from({ length: 1000 }, () => 'self.a > 0').join(' && ') },
        'compilation failed: ERROR: the expression is longer than 10000 characters',
      ],
      [
        { rule: 'cel.bind(self.a, 1, true)' },
        'x.x-kubernetes-validations[0].rule: Invalid value: "cel.bind(self.a, 1, true)": compilation failed: ERROR: <input>:1:4: cel.bind() variable name must be a simple identifier',
      ],
      [{ rule: '' }, 'x.x-kubernetes-validations[0].rule: Required value'],
      [
        { rule: 'self.a > 0', reason: 'FieldValueWrong' },
        'x.x-kubernetes-validations[0].reason: Unsupported value: "FieldValueWrong"',
      ],
      [
        { rule: 'self.a > 0', fieldPath: '.missing' },
        'x.x-kubernetes-validations[0].fieldPath: Invalid value: ".missing"',
      ],
      [
        { rule: 'self.a > 0', fieldPath: 'a[0]' },
        'x.x-kubernetes-validations[0].fieldPath: Invalid value: "a[0]"',
      ],
      [
        { rule: 'self.a > 0', optionalOldSelf: true },
        'x.x-kubernetes-validations[0].optionalOldSelf: Invalid value: true: may not be set if rule does not use oldSelf',
      ],
      [
        { rule: 'self.a > 0', message: 'two\nlines' },
        'x.x-kubernetes-validations[0].message: Invalid value: "two\\nlines": message must not contain line breaks',
      ],
      [
        { rule: 'self.a > 0', messageExpression: 'nope(self)' },
        'x.x-kubernetes-validations[0].messageExpression: Invalid value: "nope(self)": messageExpression compilation failed',
      ],
    ];
    for (const [rule, expected] of table) {
      const got = declared([rule]);
      assert.equal(got.length, 1, `${JSON.stringify(rule)}: ${got.join('; ')}`);
      assert.ok(
        got[0]?.startsWith(expected) || got[0]?.includes(expected),
        `${got[0] ?? ''}\n  should contain ${expected}`,
      );
    }
  });

  test('rules inside allOf/anyOf/oneOf/not are refused (not structural)', () => {
    const got = declarationErrors(node([{ rule: 'true' }]), 'y.anyOf[0]', true);
    assert.equal(got[0]?.path, 'y.anyOf[0].x-kubernetes-validations');
    assert.equal(got[0]?.reason, 'FieldValueForbidden');
  });
});

describe('CEL rules on objects', () => {
  test('a kind runs rules only when its schema declares some, at any depth', () => {
    assert.equal(hasRules(schemaWith([{ rule: 'true' }])), true);
    const deep: JsonSchema = {
      type: 'object',
      properties: {
        a: { type: 'string' },
        b: { type: 'array', items: { type: 'object', additionalProperties: node([{ rule: 'true' }]) } },
      },
    };
    assert.equal(hasRules(deep), true);
    assert.equal(hasRules({ type: 'object', properties: { a: { type: 'string' } } }), false);
  });

  test('self is the node with the rule; integers are ints, numbers doubles', () => {
    passes('self.replicas <= self.max', { replicas: 2, max: 3 });
    fails('self.replicas <= self.max', { replicas: 4, max: 3 });
    passes('self.ratio > 0.5 && self.replicas == 2', { replicas: 2, ratio: 0.75 });
    passes('type(self.replicas) == int && type(self.ratio) == double', { replicas: 2, ratio: 1 });
    passes("has(self.labels) && 'app' in self.labels && !has(self.name)", { labels: { app: 'x' } });
    passes('!has(self.constructor)', {});
  });

  test('message, messageExpression, reason and fieldPath shape the cause', () => {
    const spec = { replicas: 5, max: 3, tags: ['b', 'a'] };
    assert.deepEqual(
      causes(
        [
          { rule: 'self.replicas <= self.max', message: 'replicas must not exceed max' },
          {
            rule: 'self.replicas <= self.max',
            messageExpression: "'replicas ' + string(self.replicas) + ' is above ' + string(self.max)",
          },
          {
            rule: 'self.tags.isSorted()',
            fieldPath: '.tags',
            reason: 'FieldValueForbidden',
            message: 'tags must be sorted',
          },
          { rule: 'self.replicas < 5', reason: 'FieldValueRequired', message: 'fewer please' },
          { rule: 'self.tags.size() > 5', reason: 'FieldValueDuplicate' },
          { rule: 'self.replicas < 0', messageExpression: "''", message: 'static fallback' },
        ],
        spec,
      ),
      [
        'spec: FieldValueInvalid: Invalid value: "object": replicas must not exceed max',
        'spec: FieldValueInvalid: Invalid value: "object": replicas 5 is above 3',
        'spec.tags: FieldValueForbidden: Forbidden: tags must be sorted',
        'spec: FieldValueRequired: Required value: fewer please',
        'spec: FieldValueDuplicate: Duplicate value: "object"',
        'spec: FieldValueInvalid: Invalid value: "object": static fallback',
      ],
    );
  });

  test('a rule on the root is reported at <nil>; a rule that errors says so', () => {
    const root: JsonSchema = {
      ...node([{ rule: 'self.spec.n > 0' }], {
        spec: { type: 'object', properties: { n: { type: 'integer' } } },
      }),
    };
    assert.deepEqual(
      ruleErrors({ spec: { n: 0 } }, undefined, root).map((e) => `${e.path}: ${e.message}`),
      ['<nil>: Invalid value: "object": failed rule: self.spec.n > 0'],
    );
    const errs = ruleErrors({ spec: {} }, undefined, root);
    assert.equal(errs.length, 1);
    assert.match(errs[0]?.message ?? '', /evaluating rule: self.spec.n > 0$/);
  });

  test('transition rules run only on update, where an old value exists', () => {
    const rule = { rule: 'self.replicas >= oldSelf.replicas', message: 'may not scale down' };
    assert.deepEqual(causes([rule], { replicas: 1 }), [], 'not on create');
    assert.deepEqual(causes([rule], { replicas: 3 }, { replicas: 2 }), []);
    assert.deepEqual(causes([rule], { replicas: 1 }, { replicas: 2 }), [
      'spec: FieldValueInvalid: Invalid value: "object": may not scale down',
    ]);
    const optional = {
      rule: '!oldSelf.hasValue() || self.replicas >= oldSelf.value().replicas',
      optionalOldSelf: true,
    };
    assert.deepEqual(
      causes([optional], { replicas: 1 }),
      [],
      'optionalOldSelf runs on create, with no value',
    );
    assert.equal(causes([optional], { replicas: 1 }, { replicas: 2 }).length, 1);
    const immutable = { rule: 'self == oldSelf', message: 'name is immutable', fieldPath: '.name' };
    assert.equal(
      causes([immutable], { name: 'b' }, { name: 'a' })[0],
      'spec.name: FieldValueInvalid: Invalid value: "object": name is immutable',
    );
  });

  test('an unchanged value is not checked again (ratcheting)', () => {
    const rule = { rule: 'self.replicas < 3' };
    assert.equal(causes([rule], { replicas: 5 }).length, 1);
    assert.deepEqual(causes([rule], { replicas: 5 }, { replicas: 5 }), [], 'unchanged: ratcheted');
    assert.equal(causes([rule], { replicas: 6 }, { replicas: 5 }).length, 1);
  });

  test('list items are correlated with their old selves by list-map keys', () => {
    const schema: JsonSchema = {
      type: 'object',
      properties: {
        ports: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: node([{ rule: 'self.port == oldSelf.port', message: 'port is immutable' }], {
            name: { type: 'string' },
            port: { type: 'integer' },
          }),
        },
      },
      required: [],
    };
    const ports = (a: number, b: number): unknown => ({
      ports: [
        { name: 'b', port: b },
        { name: 'a', port: a },
      ],
    });
    assert.deepEqual(
      ruleErrors(
        ports(1, 2),
        {
          ports: [
            { name: 'a', port: 1 },
            { name: 'b', port: 2 },
          ],
        },
        schema,
      ),
      [],
    );
    assert.deepEqual(
      ruleErrors(
        ports(9, 2),
        {
          ports: [
            { name: 'a', port: 1 },
            { name: 'b', port: 2 },
          ],
        },
        schema,
      ).map((e) => e.path),
      ['ports[1]'],
    );
  });
});

describe('Kubernetes CEL extension functions', () => {
  const spec = {
    name: ' Web-01 ',
    size: '2Gi',
    tags: ['a', 'b', 'c'],
    counts: [3, 1, 2],
    labels: { app: 'web' },
  };
  const table = [
    'self.tags.isSorted() && !self.counts.isSorted()',
    'self.counts.sum() == 6 && self.counts.min() == 1 && self.counts.max() == 3',
    "self.tags.indexOf('b') == 1 && self.tags.lastIndexOf('z') == -1",
    "self.name.trim().lowerAscii() == 'web-01' && self.name.upperAscii() == ' WEB-01 '",
    "self.name.trim().split('-') == ['Web', '01'] && self.tags.join(',') == 'a,b,c'",
    "self.name.replace('0', 'o') == ' Web-o1 ' && self.name.substring(1, 4) == 'Web'",
    "'aaa'.replace('a', 'b', 2) == 'bba' && 'aaa'.replace('a', 'b', -1) == 'bbb' && 'ab'.replace('', '-') == '-a-b-' && 'ab'.replace('', '-', 2) == '-a-b'",
    "[].join() == '' && ['a'].join('-') == 'a'",
    "self.name.indexOf('W') == 1 && self.name.lastIndexOf(' ') == 7 && self.name.charAt(1) == 'W'",
    "self.name.find('[0-9]+') == '01' && self.name.findAll('[a-z]') == ['e', 'b'] && self.name.findAll('[a-z]', 1) == ['e']",
    "self.name.matches('^ Web') && !self.name.matches('^x')",
    'self.tags.all(t, t.size() == 1) && self.tags.exists(t, t == "b") && self.tags.exists_one(t, t == "c")',
    'self.counts.map(c, c * 2) == [6, 2, 4] && self.counts.filter(c, c > 1) == [3, 2]',
    "has(self.labels.app) && self.labels.all(k, self.labels[k] == 'web')",
    "quantity(self.size).isGreaterThan(quantity('1Gi')) && quantity('500m').compareTo(quantity('1')) == -1",
    "isQuantity(self.size) && !isQuantity('two') && quantity('1k').asInteger() == 1000",
    'optional.of(1).hasValue() && !optional.none().hasValue() && optional.none().orValue(2) == 2',
    "cel.bind(n, self.name.trim(), n.size() == 6 && cel.bind(m, n + '!', m.endsWith('1!') && m.startsWith(n)))",
    'self.tags.all(t, cel.bind(u, t.upperAscii(), u != t && u.lowerAscii() == t))',
    "url('HTTPS://Example.com:443/a%20b?x=1&x=2&y=').getScheme() == 'HTTPS' && url('https://Example.com:443/').getHost() == 'Example.com:443'",
    "url('https://[::1]:8080/p').getHostname() == '::1' && url('https://[::1]:8080/p').getPort() == '8080' && url('https://h/').getPort() == ''",
    "url('https://h/a%20b?q').getEscapedPath() == '/a%20b' && url('/just/a/path').getHost() == ''",
    "url('https://h/?x=1&x=2&y=a+b').getQuery() == {'x': ['1', '2'], 'y': ['a b']}",
    "isURL('https://h/p') && isURL('/p') && isURL('mailto:a@b') && !isURL('h/p') && !isURL('https://h:port/') && !isURL('https://a b/')",
  ];
  for (const rule of table) test(rule, () => passes(rule, spec));

  test('a function failing at run time is an evaluation error, not a crash', () => {
    const got = causes([{ rule: "quantity(self.name) == '1'" }], { name: 'not a quantity' });
    assert.equal(got.length, 1);
    assert.match(got[0] ?? '', /evaluating rule: quantity\(self.name\) == '1'/);
    assert.equal(causes([{ rule: '[].min() == 0' }], {}).length, 1);
    const grown = causes([{ rule: "self.name.replace('', self.name).size() > 0" }], {
      name: 'a'.repeat(100_000),
    });
    assert.deepEqual(grown, [
      `spec: : Invalid value: "object": replace would build a string longer than ${MAX_BUILT_STRING} characters evaluating rule: self.name.replace('', self.name).size() > 0`,
    ]);
    assert.deepEqual(causes([{ rule: "url(self.name).getScheme() == 'https'" }], { name: 'relative/path' }), [
      `spec: : Invalid value: "object": URL parse error during conversion from string: parse "relative/path": invalid URI for request evaluating rule: url(self.name).getScheme() == 'https'`,
    ]);
  });
});

describe('the evaluation budget', () => {
  test('replace and join over a large string take linear time', () => {
    const name = 'a'.repeat(200_000);
    const started = performance.now();
    passes(
      "self.name.replace('a', 'b').startsWith('bbb') && self.name.split('').join(',').size() == 399999",
      {
        name,
      },
    );
    assert.ok(performance.now() - started < 5000, `took ${performance.now() - started} ms`);
  });

  test('list functions read a long list built by map or filter (no stack overflow)', () => {
    const counts = Array.from({ length: 5000 }, (_, i) => i);
    const rule =
      "self.counts.map(c, c).isSorted() && self.counts.filter(c, c >= 0).sum() == 12497500 && self.counts.map(c, string(c)).join(',').size() == 23889 && self.counts.map(c, c).max() == 4999";
    // The steps are well within budget; the wall clock is widened for a machine under load.
    const roomy = new Meter(undefined, 60_000);
    assert.deepEqual(ruleErrors({ spec: { counts } }, undefined, schemaWith([{ rule }]), roomy), []);
    passes('[self.counts.map(c, c)].indexOf(self.counts) == 0', { counts: [1, 2, 3] });
  });

  test('a deliberately expensive rule is cut off and the object refused with a clear message', () => {
    const schema: JsonSchema = {
      type: 'object',
      properties: { l: { type: 'array', items: { type: 'integer' } } },
      'x-kubernetes-validations': [{ rule: 'self.l.all(x, self.l.all(y, self.l.all(z, x + y + z >= 0)))' }],
    };
    const started = performance.now();
    const errors = ruleErrors({ l: Array.from({ length: 2000 }, (_, i) => i) }, undefined, schema);
    assert.ok(performance.now() - started < 5000, `took ${performance.now() - started} ms`);
    assert.equal(errors.length, 1);
    assert.match(
      errors[0]?.message ?? '',
      /validation failed due to running out of cost budget, no further validation rules will be run/,
    );
  });

  test('the budget counts rule evaluations and loop steps; the clock is read as it goes', () => {
    const list: Record<string, JsonSchema> = {
      l: { type: 'array', items: node([{ rule: 'self.v >= 0' }], { v: { type: 'integer' } }) },
    };
    const schema: JsonSchema = { type: 'object', properties: list };
    const many = { l: Array.from({ length: 50 }, () => ({ v: 1 })) };
    assert.deepEqual(ruleErrors(many, undefined, schema, new Meter(50)), []);
    assert.equal(ruleErrors(many, undefined, schema, new Meter(49)).length, 1);
    let now = 0;
    const slow = new Meter(1_000_000, 10, () => (now += 100));
    const loop = node([{ rule: 'self.l.all(x, x.v >= 0)' }], list);
    assert.equal(
      ruleErrors({ l: Array.from({ length: 600 }, () => ({ v: 1 })) }, undefined, loop, slow).length,
      1,
    );
  });
});
