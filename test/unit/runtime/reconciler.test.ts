/**
 * The Reconciler base: what a subclass declares (its watches, one reconcile per key, a start that
 * queues more) is what runs, a failure is retried, and after stop nothing reconciles.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { KubeObject } from '../../../src/api/meta.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { RegistryTransport } from '../../../src/runtime/inprocess.js';
import { Manager } from '../../../src/runtime/manager.js';
import { Reconciler } from '../../../src/runtime/reconciler.js';
import { SqliteStore } from '../../../src/store/sqlite.js';
import { namespaceKind, widgetKind } from '../../support/kinds.js';
import { eventually } from '../../support/wait.js';

const widget = (name: string): KubeObject => ({
  apiVersion: 'test.hikube.io/v1',
  kind: 'Widget',
  metadata: { name, namespace: 'default' },
});

/** Records each key it reconciles; fails the first time for keys named in `failOnce`. */
class Recorder extends Reconciler {
  readonly seen: string[] = [];
  readonly failOnce = new Set<string>();

  constructor(manager: Manager) {
    super(manager, { name: 'recorder', backoff: { baseMs: 1, maxMs: 5 }, quiet: () => true });
    this.controller.watch(widgetKind);
  }

  override start(): void {
    super.start();
    this.controller.queue.add('first/key');
  }

  protected reconcile(key: string): void {
    this.seen.push(key);
    if (this.failOnce.delete(key)) throw new Error(`failing ${key} once`);
  }
}

describe('Reconciler', () => {
  let registry: Registry;
  let manager: Manager;
  let recorder: Recorder;

  beforeEach(async () => {
    registry = new Registry(new SqliteStore({ path: ':memory:', historySize: 5 }));
    registry.create(namespaceKind, '', { metadata: { name: 'default' } });
    registry.create(widgetKind, 'default', widget('existing'));
    manager = new Manager(new RegistryTransport(registry));
    recorder = new Recorder(manager);
    await manager.add(recorder);
    await manager.start();
  });
  afterEach(() => manager.stop());

  test('takes the name it was given and reconciles existing objects and the key start queues', async () => {
    await manager.idle();
    assert.equal(recorder.name, 'recorder');
    assert.deepEqual([...recorder.seen].sort(), ['default/existing', 'first/key']);
  });

  test('reconciles a change, and retries a key whose reconcile threw', async () => {
    await manager.idle();
    recorder.failOnce.add('default/flaky');
    registry.create(widgetKind, 'default', widget('flaky'));
    await eventually(() => recorder.seen.filter((k) => k === 'default/flaky').length === 2, 'flaky retried');
    await recorder.idle();
    assert.equal(recorder.failOnce.size, 0);
  });

  test('reconciles nothing once stopped', async () => {
    await manager.idle();
    const before = recorder.seen.length;
    recorder.stop();
    registry.create(widgetKind, 'default', widget('late'));
    await manager.idle();
    assert.equal(recorder.seen.length, before);
    assert.ok(!recorder.seen.includes('default/late'));
  });
});
