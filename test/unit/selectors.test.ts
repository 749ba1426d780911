/**
 * Label and field selectors: what kubectl's -l and --field-selector send, what matches, and the
 * message each malformed selector gets.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  labelSelectorFromObject,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
  type LabelSelectorObject,
} from '../../src/api/selectors.js';

const selectorError = (message: string) => (err: unknown) => {
  assert.ok(err instanceof SelectorError, String(err));
  assert.equal(err.name, 'SelectorError');
  assert.equal(err.message, message);
  return true;
};

const web = { app: 'web', tier: 'frontend', 'example.com/team': 'a', replicas: '3' };
const db = { app: 'db', tier: 'backend' };
const bare = {};
const objects = { web, db, bare } as const;
type Name = keyof typeof objects;

describe('parseLabelSelector: matching', () => {
  const cases: [selector: string, matching: Name[]][] = [
    ['', ['web', 'db', 'bare']],
    ['   ', ['web', 'db', 'bare']],
    ['app=web', ['web']],
    ['app==web', ['web']],
    ['app = web', ['web']],
    ['app!=web', ['db', 'bare']],
    ['app in (web,db)', ['web', 'db']],
    ['app in ( web , db )', ['web', 'db']],
    ['app notin (web)', ['db', 'bare']],
    ['app', ['web', 'db']],
    ['!app', ['bare']],
    [' ! app ', ['bare']],
    ['app,tier=backend', ['db']],
    ['app=web,tier=frontend', ['web']],
    ['app=web, tier=backend', []],
    ['example.com/team=a', ['web']],
    ['example.com/team', ['web']],
    ['app=', []],
    ['missing=', []],
    ['missing!=', ['web', 'db', 'bare']],
    ['app in (), tier', []],
    ['replicas>2', ['web']],
    ['replicas<3', []],
    ['replicas>0,app notin (db)', ['web']],
    ['tier in (in, notin, backend)', ['db']],
  ];
  for (const [selector, matching] of cases) {
    test(`${JSON.stringify(selector)} selects ${matching.join(', ') || 'nothing'}`, () => {
      const s = parseLabelSelector(selector);
      const selected = (Object.keys(objects) as Name[]).filter((name) => s.matches(objects[name]));
      assert.deepEqual(selected, matching);
    });
  }

  test('undefined labels are no labels', () => {
    assert.equal(parseLabelSelector('!app').matches(undefined), true);
    assert.equal(parseLabelSelector('app').matches(undefined), false);
  });

  test('a label value "__proto__" or "toString" key is not inherited', () => {
    assert.equal(parseLabelSelector('toString').matches({}), false);
    assert.equal(parseLabelSelector('constructor!=x').matches({}), true);
  });

  const canonical: [string, string][] = [
    ['tier  in (b, a, a),app==web,!gone,  has', 'app=web,!gone,has,tier in (a,b)'],
    ['x notin (z,y), y != 1, n>5, m<2', 'm<2,n>5,x notin (y,z),y!=1'],
  ];
  for (const [input, output] of canonical) {
    test(`${JSON.stringify(input)} reads back as ${JSON.stringify(output)}`, () => {
      const s = parseLabelSelector(input);
      assert.equal(s.toString(), output);
      assert.equal(parseLabelSelector(s.toString()).toString(), output);
    });
  }
});

describe('parseLabelSelector: errors', () => {
  const cases: [selector: string, problem: string][] = [
    ['app=web tier=db', "found 'tier', expected ',' or end of string"],
    ['app=web,', "found end of string, expected a requirement after ','"],
    [',app', "found ',', expected a label key"],
    ['app web', "found 'web', expected one of =, ==, !=, in, notin, >, <, ',' or end of string"],
    ['app in web', "found 'web', expected '('"],
    ['app in (web', "found end of string, expected ',' or ')'"],
    ['app in (web db)', "found 'db', expected ',' or ')'"],
    ['app in (=)', "found '=', expected a value, ',' or ')'"],
    ['app notin', "found end of string, expected '('"],
    ['app===web', "found '=', expected a value"],
    ['app=(web)', "found '(', expected a value"],
    ['!app=web', "found '=', expected ',' or end of string"],
    ['!', 'found end of string, expected a label key'],
    ['=web', "found '=', expected a label key"],
    ['a b c', "found 'b', expected one of =, ==, !=, in, notin, >, <, ',' or end of string"],
    [
      'App_=x',
      `key "App_" is invalid: the name part must be 63 characters or less, begin and end with an alphanumeric character, and contain only alphanumerics, '-', '_' or '.'`,
    ],
    [
      `${'k'.repeat(64)}=x`,
      `key "${'k'.repeat(64)}" is invalid: the name part must be 63 characters or less, begin and end with an alphanumeric character, and contain only alphanumerics, '-', '_' or '.'`,
    ],
    ['/app=x', `key "/app" is invalid: the prefix before '/' must not be empty`],
    [
      'Example.com/app=x',
      'key "Example.com/app" is invalid: the prefix "Example.com" must be a lowercase DNS subdomain of 253 characters or less',
    ],
    ['example.com/=x', 'key "example.com/" is invalid: the name part must not be empty'],
    ['a/b/c=x', `key "a/b/c" is invalid: must be a name, optionally prefixed by a DNS subdomain and '/'`],
    [
      'app=we$b',
      `value "we$b" for key "app" is invalid: a label value must be 63 characters or less, begin and end with an alphanumeric character, and contain only alphanumerics, '-', '_' or '.'`,
    ],
    [
      `app in (ok,${'v'.repeat(64)})`,
      `value "${'v'.repeat(64)}" for key "app" is invalid: a label value must be 63 characters or less, begin and end with an alphanumeric character, and contain only alphanumerics, '-', '_' or '.'`,
    ],
    ['replicas>three', 'value "three" for key "replicas" must be an integer for > and <'],
  ];
  for (const [selector, problem] of cases) {
    test(`${JSON.stringify(selector)}: ${problem}`, () => {
      assert.throws(
        () => parseLabelSelector(selector),
        selectorError(`invalid label selector ${JSON.stringify(selector)}: ${problem}`),
      );
    });
  }
});

describe('labelSelectorFromObject', () => {
  const cases: [name: string, selector: LabelSelectorObject | null | undefined, matching: Name[]][] = [
    ['no selector selects nothing', undefined, []],
    ['null selects nothing', null, []],
    ['an empty selector selects everything', {}, ['web', 'db', 'bare']],
    ['empty lists select everything', { matchLabels: {}, matchExpressions: [] }, ['web', 'db', 'bare']],
    ['matchLabels', { matchLabels: { app: 'web', tier: 'frontend' } }, ['web']],
    ['In', { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'web'] }] }, ['web', 'db']],
    ['NotIn', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['db'] }] }, ['web', 'bare']],
    ['Exists', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, ['web', 'db']],
    ['DoesNotExist', { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist', values: [] }] }, ['bare']],
    [
      'matchLabels and matchExpressions together',
      { matchLabels: { tier: 'backend' }, matchExpressions: [{ key: 'app', operator: 'Exists' }] },
      ['db'],
    ],
  ];
  for (const [name, selector, matching] of cases) {
    test(name, () => {
      const s = labelSelectorFromObject(selector);
      assert.deepEqual(
        (Object.keys(objects) as Name[]).filter((n) => s.matches(objects[n])),
        matching,
      );
    });
  }

  test('reads back as the string form', () => {
    const s = labelSelectorFromObject({
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['b', 'a'] }],
    });
    assert.equal(s.toString(), 'app=web,tier notin (a,b)');
  });

  const errors: [name: string, selector: LabelSelectorObject, message: string][] = [
    [
      'unknown operator',
      { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['x'] }] },
      'invalid label selector: matchExpressions[0].operator: "Equals" is not one of In, NotIn, Exists, DoesNotExist',
    ],
    [
      'In without values',
      {
        matchExpressions: [
          { key: 'app', operator: 'Exists' },
          { key: 'app', operator: 'In', values: [] },
        ],
      },
      'invalid label selector: matchExpressions[1]: operator In on "app" needs at least one value',
    ],
    [
      'NotIn without values',
      { matchExpressions: [{ key: 'app', operator: 'NotIn' }] },
      'invalid label selector: matchExpressions[0]: operator NotIn on "app" needs at least one value',
    ],
    [
      'Exists with values',
      { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] },
      'invalid label selector: matchExpressions[0]: operator Exists on "app" takes no values',
    ],
    [
      'bad key in matchExpressions',
      { matchExpressions: [{ key: 'bad key', operator: 'Exists' }] },
      `invalid label selector: matchExpressions[0]: key "bad key" is invalid: the name part must be 63 characters or less, begin and end with an alphanumeric character, and contain only alphanumerics, '-', '_' or '.'`,
    ],
    [
      'bad value in matchLabels',
      { matchLabels: { app: 'has space' } },
      `invalid label selector: matchLabels: value "has space" for key "app" is invalid: a label value must be 63 characters or less, begin and end with an alphanumeric character, and contain only alphanumerics, '-', '_' or '.'`,
    ],
  ];
  for (const [name, selector, message] of errors) {
    test(`error: ${name}`, () =>
      assert.throws(() => labelSelectorFromObject(selector), selectorError(message)));
  }
});

describe('parseFieldSelector', () => {
  const pods = {
    a: {
      metadata: { name: 'a', namespace: 'default' },
      spec: { nodeName: 'n1', replicas: 2, paused: false },
      status: { phase: 'Running' },
    },
    b: { metadata: { name: 'b', namespace: 'kube-system' }, spec: {}, status: { phase: 'Pending' } },
    c: { metadata: { name: 'x,y=z\\w' }, status: { phase: null } },
  } as const;
  type Pod = keyof typeof pods;
  const cases: [selector: string, matching: Pod[]][] = [
    ['', ['a', 'b', 'c']],
    ['metadata.name=a', ['a']],
    ['metadata.name==b', ['b']],
    ['metadata.namespace!=default', ['b', 'c']],
    ['metadata.namespace=', ['c']],
    ['status.phase!=Running', ['b', 'c']],
    ['status.phase=Running,metadata.namespace=default', ['a']],
    ['status.phase=Running,metadata.namespace=kube-system', []],
    ['spec.nodeName=', ['b', 'c']],
    ['spec.nodeName=n1', ['a']],
    ['spec.replicas=2', ['a']],
    ['spec.paused=false', ['a']],
    ['status.phase=', ['c']],
    ['spec.nodeName.deeper=', ['a', 'b', 'c']],
    [' metadata.name = a , status.phase = Running ', ['a']],
    ['metadata.name=a,,', ['a']],
    ['metadata.name=x\\,y\\=z\\\\w', ['c']],
  ];
  for (const [selector, matching] of cases) {
    test(`${JSON.stringify(selector)} selects ${matching.join(', ') || 'nothing'}`, () => {
      const s = parseFieldSelector(selector);
      assert.deepEqual(
        (Object.keys(pods) as Pod[]).filter((name) => s.matches(pods[name])),
        matching,
      );
    });
  }

  test('anything that is not an object has only empty fields', () => {
    assert.equal(parseFieldSelector('metadata.name=').matches(undefined), true);
    assert.equal(parseFieldSelector('metadata.name=a').matches('a'), false);
  });

  test('reads back sorted and escaped', () => {
    assert.equal(
      parseFieldSelector('status.phase!=Running,metadata.name==x\\,y').toString(),
      'metadata.name=x\\,y,status.phase!=Running',
    );
  });

  const errors: [selector: string, problem: string][] = [
    ['metadata.name', `can't understand "metadata.name": expected field=value, field==value or field!=value`],
    [
      'metadata.name=a,status.phase',
      `can't understand "status.phase": expected field=value, field==value or field!=value`,
    ],
    ['=a', '"" is not a field path such as metadata.name'],
    ['metadata..name=a', '"metadata..name" is not a field path such as metadata.name'],
    ['metadata. name=a', '"metadata. name" is not a field path such as metadata.name'],
    ['metadata.name=a=b', 'unescaped "=" in value "a=b" (write \\=)'],
    ['metadata.name=a\\b', 'invalid escape sequence "\\b" in value'],
    ['metadata.name=a\\', 'invalid escape sequence "\\" in value'],
  ];
  for (const [selector, problem] of errors) {
    test(`${JSON.stringify(selector)}: ${problem}`, () => {
      assert.throws(
        () => parseFieldSelector(selector),
        selectorError(`invalid field selector ${JSON.stringify(selector)}: ${problem}`),
      );
    });
  }
});
