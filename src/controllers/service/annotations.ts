/**
 * Load balancing settings a Service carries as annotations (as cloud load balancers read theirs):
 * the algorithm and the TCP health check. A bad value is reported and its default used, so a typo
 * never takes a service down.
 */
import type { Service } from '../../api/core/service.js';
import { ALGORITHMS, type Algorithm } from '../../network/proxy/balancer.js';
import { DEFAULT_HEALTH_CHECK, type HealthCheckSpec } from '../../network/proxy/health.js';

export const ANNOTATION_PREFIX = 'lb.hikube.io/';
export const Annotations = {
  algorithm: `${ANNOTATION_PREFIX}algorithm`,
  healthCheck: `${ANNOTATION_PREFIX}health-check`,
  healthCheckPort: `${ANNOTATION_PREFIX}health-check-port`,
  period: `${ANNOTATION_PREFIX}health-check-period-seconds`,
  timeout: `${ANNOTATION_PREFIX}health-check-timeout-seconds`,
  healthy: `${ANNOTATION_PREFIX}health-check-healthy-threshold`,
  unhealthy: `${ANNOTATION_PREFIX}health-check-unhealthy-threshold`,
} as const;

export interface LoadBalancing {
  algorithm: Algorithm;
  health: HealthCheckSpec;
  /** One message per annotation that was ignored. */
  problems: string[];
}

export function loadBalancing(svc: Service): LoadBalancing {
  const a = svc.metadata.annotations ?? {};
  const problems: string[] = [];
  const algorithm = a[Annotations.algorithm] ?? 'round-robin';
  const number = (key: string, fallback: number, min: number, max: number, scale = 1): number => {
    const raw = a[key];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      problems.push(
        `annotation ${key}: ${JSON.stringify(raw)} is not a number in ${min}-${max}; using ${fallback / scale}`,
      );
      return fallback;
    }
    return n * scale;
  };
  const enabledRaw = a[Annotations.healthCheck] ?? 'true';
  if (enabledRaw !== 'true' && enabledRaw !== 'false')
    problems.push(
      `annotation ${Annotations.healthCheck}: ${JSON.stringify(enabledRaw)} is not true or false; using true`,
    );
  const health: HealthCheckSpec = {
    enabled: enabledRaw !== 'false',
    periodMs: number(Annotations.period, DEFAULT_HEALTH_CHECK.periodMs, 0.1, 3600, 1000),
    timeoutMs: number(Annotations.timeout, DEFAULT_HEALTH_CHECK.timeoutMs, 0.1, 3600, 1000),
    healthyThreshold: number(Annotations.healthy, DEFAULT_HEALTH_CHECK.healthyThreshold, 1, 100),
    unhealthyThreshold: number(Annotations.unhealthy, DEFAULT_HEALTH_CHECK.unhealthyThreshold, 1, 100),
  };
  if (a[Annotations.healthCheckPort] !== undefined) {
    const port = number(Annotations.healthCheckPort, 0, 1, 65535);
    if (port !== 0) health.port = port;
  }
  if (!(ALGORITHMS as readonly string[]).includes(algorithm)) {
    problems.push(
      `annotation ${Annotations.algorithm}: ${JSON.stringify(algorithm)} is not one of ${ALGORITHMS.join(', ')}; using round-robin`,
    );
    return { algorithm: 'round-robin', health, problems };
  }
  return { algorithm: algorithm as Algorithm, health, problems };
}
