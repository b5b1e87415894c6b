import { describe, expect, it } from 'vitest';
import {
  assessReleases,
  changeFailRateBand,
  datapointsForRelease,
  deploymentFrequencyBand,
  doraFigures,
  leadTimeBand,
  recoveryTimeBand,
} from '../../lib/domain/dora.ts';
import type { ReleaseRecord } from '../../lib/ports/release-history.ts';

const release = (
  releaseId: string,
  fields: Partial<ReleaseRecord> & Pick<ReleaseRecord, 'requestedAt' | 'status'>,
): ReleaseRecord => ({ service: 'checkout', releaseId, ...fields });

/**
 * A month of checkout's releases (period 2026-11-01 to 2026-12-01, 30 days), with the figures worked out
 * by hand in the comments.
 */
const NOVEMBER: ReleaseRecord[] = [
  // Before the period: context only (r1 does not undo it).
  release('r0', {
    requestedAt: '2026-10-31T09:00:00.000Z',
    status: 'promoted',
    fromVersion: 'v0',
    toVersion: 'v1',
    peakPercent: 100,
    promotedAt: '2026-10-31T10:00:00.000Z',
    endedAt: '2026-10-31T10:00:00.000Z',
  }),
  // Deployment, promoted: lead 08:00 -> 10:30 = 9000 s (OCI label).
  release('r1', {
    requestedAt: '2026-11-02T10:00:00.000Z',
    status: 'promoted',
    fromVersion: 'v1',
    toVersion: 'v2',
    peakPercent: 100,
    promotedAt: '2026-11-02T10:30:00.000Z',
    endedAt: '2026-11-02T10:30:00.000Z',
    changeTime: { at: '2026-11-02T08:00:00.000Z', source: 'oci-label' },
  }),
  // Deployment at 5%, rolled back: failed; recovery 09:20 -> 09:21 = 60 s; no lead time.
  release('r2', {
    requestedAt: '2026-11-05T09:00:00.000Z',
    status: 'rolled_back',
    fromVersion: 'v2',
    toVersion: 'v3',
    peakPercent: 5,
    rollbackStartedAt: '2026-11-05T09:20:00.000Z',
    endedAt: '2026-11-05T09:21:00.000Z',
    changeTime: { at: '2026-11-04T09:00:00.000Z', source: 'deploy-request' },
  }),
  // Requested 2 h 40 min after r2's failure was detected: rework. Lead from the request (push): 2400 s.
  release('r3', {
    requestedAt: '2026-11-05T12:00:00.000Z',
    status: 'promoted',
    fromVersion: 'v2',
    toVersion: 'v4',
    peakPercent: 100,
    promotedAt: '2026-11-05T12:40:00.000Z',
    endedAt: '2026-11-05T12:40:00.000Z',
  }),
  // Its slot never became steady: no production traffic, not a deployment.
  release('r4', {
    requestedAt: '2026-11-10T09:00:00.000Z',
    status: 'rolled_back',
    fromVersion: 'v4',
    toVersion: 'v4b',
    peakPercent: 0,
    rollbackStartedAt: '2026-11-10T09:10:00.000Z',
    endedAt: '2026-11-10T09:11:00.000Z',
  }),
  // Superseded before it started: not a deployment.
  release('r5', {
    requestedAt: '2026-11-11T09:00:00.000Z',
    status: 'superseded',
    toVersion: 'v4c',
    endedAt: '2026-11-11T09:01:00.000Z',
  }),
  // Promoted at 11:00 (lead 25 h = 90000 s), then rolled back in its rollback window: failed, recovery 60 s.
  release('r6', {
    requestedAt: '2026-11-12T10:00:00.000Z',
    status: 'rolled_back',
    fromVersion: 'v4',
    toVersion: 'v5',
    peakPercent: 100,
    promotedAt: '2026-11-12T11:00:00.000Z',
    rollbackStartedAt: '2026-11-12T11:05:00.000Z',
    endedAt: '2026-11-12T11:06:00.000Z',
    changeTime: { at: '2026-11-11T10:00:00.000Z', source: 'oci-label' },
  }),
  // Requested 5 min after r6's failure: rework. Lead 11:00 -> 11:40 = 2400 s (deploy request).
  release('r7', {
    requestedAt: '2026-11-12T11:10:00.000Z',
    status: 'promoted',
    fromVersion: 'v4',
    toVersion: 'v6',
    peakPercent: 100,
    promotedAt: '2026-11-12T11:40:00.000Z',
    endedAt: '2026-11-12T11:40:00.000Z',
    changeTime: { at: '2026-11-12T11:00:00.000Z', source: 'deploy-request' },
  }),
  // Failed at 25% and its rollback failed: failed; recovered by r9's promotion, 10:30 -> 14:30 = 14400 s.
  release('r8', {
    requestedAt: '2026-11-20T10:00:00.000Z',
    status: 'failed',
    fromVersion: 'v6',
    toVersion: 'v7',
    peakPercent: 25,
    endedAt: '2026-11-20T10:30:00.000Z',
  }),
  // Requested 2 h 30 min after r8 failed: rework. Lead 13:00 -> 14:30 = 5400 s (push).
  release('r9', {
    requestedAt: '2026-11-20T13:00:00.000Z',
    status: 'promoted',
    fromVersion: 'v6',
    toVersion: 'v8',
    peakPercent: 100,
    promotedAt: '2026-11-20T14:30:00.000Z',
    endedAt: '2026-11-20T14:30:00.000Z',
  }),
  // Releases v6 again, the version r9 replaced: rework (a rollback by redeploy). No lead time: v6's change
  // was deployed by r7 (its OCI label is v6's build time, 13 days before).
  release('r10', {
    requestedAt: '2026-11-25T08:30:00.000Z',
    status: 'promoted',
    fromVersion: 'v8',
    toVersion: 'v6',
    peakPercent: 100,
    promotedAt: '2026-11-25T09:00:00.000Z',
    endedAt: '2026-11-25T09:00:00.000Z',
    changeTime: { at: '2026-11-12T11:00:00.000Z', source: 'oci-label' },
  }),
  // Still running: ignored.
  release('r11', { requestedAt: '2026-11-30T08:00:00.000Z', status: 'in_progress', peakPercent: 5 }),
];

const PERIOD = { from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z' };

describe('Function: assessReleases', () => {
  const byId = new Map(assessReleases(NOVEMBER).map((assessment) => [assessment.releaseId, assessment]));

  it('counts a release as a deployment only when its new version took production traffic', () => {
    expect([...byId.values()].filter((a) => a.deployment).map((a) => a.releaseId)).toEqual([
      'r0',
      'r1',
      'r2',
      'r3',
      'r6',
      'r7',
      'r8',
      'r9',
      'r10',
    ]);
    expect(byId.has('r11')).toBe(false);
  });

  it('marks rolled-back and failed deployments as failed, with their recovery', () => {
    expect(byId.get('r2')).toMatchObject({ failed: true, recovery: { seconds: 60, by: 'rollback' } });
    expect(byId.get('r6')).toMatchObject({ failed: true, recovery: { seconds: 60, by: 'rollback' } });
    expect(byId.get('r8')).toMatchObject({
      failed: true,
      recovery: { seconds: 14_400, by: 'next-deployment', byRelease: 'r9', at: '2026-11-20T14:30:00.000Z' },
    });
    expect(byId.get('r4')).toMatchObject({ deployment: false, failed: false });
    expect(byId.get('r4')?.recovery).toBeUndefined();
  });

  it('takes lead time from the change time to the promotion, saying where the change time came from', () => {
    expect(byId.get('r1')?.leadTime).toEqual({
      seconds: 9000,
      source: 'oci-label',
      changeAt: '2026-11-02T08:00:00.000Z',
    });
    expect(byId.get('r3')?.leadTime).toMatchObject({ seconds: 2400, source: 'push' });
    expect(byId.get('r6')?.leadTime).toMatchObject({ seconds: 90_000, source: 'oci-label' });
    expect(byId.get('r7')?.leadTime).toMatchObject({ seconds: 2400, source: 'deploy-request' });
    expect(byId.get('r2')?.leadTime).toBeUndefined();
  });

  it('takes no lead time for a redeploy of a version promoted before (a rollback by redeploy)', () => {
    expect(byId.get('r10')).toMatchObject({ deployment: true, rework: true });
    expect(byId.get('r10')?.leadTime).toBeUndefined();
    // The same image digest counts as the same version whatever its name.
    const digest = `sha256:${'a'.repeat(64)}`;
    const [, again] = assessReleases([
      { ...(NOVEMBER[1] as ReleaseRecord), image: { digest } },
      {
        ...(NOVEMBER[3] as ReleaseRecord),
        toVersion: 'v2-again',
        image: { digest },
      },
    ]);
    expect(again?.leadTime).toBeUndefined();
  });

  it('marks fixes after a failure and redeploys of the replaced version as rework, nothing else', () => {
    expect([...byId.values()].filter((a) => a.rework).map((a) => a.releaseId)).toEqual([
      'r3',
      'r7',
      'r9',
      'r10',
    ]);
  });

  it('does not take a deployment requested more than the rework window after a failure as rework', () => {
    const late = assessReleases([
      NOVEMBER[2] as ReleaseRecord,
      { ...(NOVEMBER[3] as ReleaseRecord), requestedAt: '2026-11-06T09:20:01.000Z' },
    ]);
    expect(late.find((a) => a.releaseId === 'r3')?.rework).toBe(false);
  });

  it('leaves a failure with no later promotion unrecovered', () => {
    const [failure] = assessReleases([NOVEMBER[8] as ReleaseRecord]);
    expect(failure).toMatchObject({ failed: true });
    expect(failure?.recovery).toBeUndefined();
  });
});

describe('Function: doraFigures', () => {
  it('computes the five figures of the month by hand', () => {
    const figures = doraFigures(assessReleases(NOVEMBER), PERIOD);
    expect(figures.period.days).toBe(30);
    // r1 r2 r3 r6 r7 r8 r9 r10: 8 deployments in 30 days.
    expect(figures.deployments).toBe(8);
    expect(figures.deploymentFrequency.perDay).toBeCloseTo(8 / 30, 10);
    expect(figures.deploymentFrequency.perWeek).toBeCloseTo(56 / 30, 10);
    expect(figures.deploymentFrequency.band).toBe('high');
    // 2400 2400 5400 9000 90000 (r10 redeploys v6: no lead time): median 5400 s.
    expect(figures.changeLeadTime).toEqual({
      medianSeconds: 5400,
      samples: 5,
      sources: { 'oci-label': 2, 'deploy-request': 1, push: 2 },
      band: 'elite',
    });
    // r2 r6 r8 of 8.
    expect(figures.changeFailRate).toEqual({ failedDeployments: 3, rate: 3 / 8, band: 'low' });
    // 60 60 14400: median 60 s.
    expect(figures.failedDeploymentRecoveryTime).toEqual({
      medianSeconds: 60,
      samples: 3,
      notRecovered: 0,
      band: 'elite',
    });
    // r3 r7 r9 r10 of 8; DORA publishes no band for rework.
    expect(figures.deploymentReworkRate).toEqual({ reworkDeployments: 4, rate: 0.5, band: null });
  });

  it('gives null figures and no band where there is nothing to measure', () => {
    const figures = doraFigures([], PERIOD);
    expect(figures.deployments).toBe(0);
    expect(figures.deploymentFrequency).toEqual({ perDay: 0, perWeek: 0, band: 'low' });
    expect(figures.changeLeadTime.medianSeconds).toBeNull();
    expect(figures.changeLeadTime.band).toBeNull();
    expect(figures.changeFailRate).toEqual({ failedDeployments: 0, rate: null, band: null });
    expect(figures.failedDeploymentRecoveryTime.band).toBeNull();
    expect(figures.deploymentReworkRate.rate).toBeNull();
  });
});

describe('Function: band of each figure (DORA 2024 clusters)', () => {
  it('bands deployment frequency: more than daily elite, weekly high, monthly medium, rarer low', () => {
    expect(deploymentFrequencyBand(2)).toBe('elite');
    expect(deploymentFrequencyBand(1)).toBe('high');
    expect(deploymentFrequencyBand(1 / 7)).toBe('high');
    expect(deploymentFrequencyBand(1 / 8)).toBe('medium');
    expect(deploymentFrequencyBand(1 / 30)).toBe('medium');
    expect(deploymentFrequencyBand(1 / 31)).toBe('low');
  });

  it('bands lead time: under a day elite, a week high, a month medium, longer low', () => {
    expect(leadTimeBand(86_399)).toBe('elite');
    expect(leadTimeBand(86_400)).toBe('high');
    expect(leadTimeBand(7 * 86_400)).toBe('high');
    expect(leadTimeBand(7 * 86_400 + 1)).toBe('medium');
    expect(leadTimeBand(30 * 86_400 + 1)).toBe('low');
  });

  it('bands change fail rate: at most 5% elite, at most 20% high, above low', () => {
    expect(changeFailRateBand(0)).toBe('elite');
    expect(changeFailRateBand(0.05)).toBe('elite');
    expect(changeFailRateBand(0.1)).toBe('high');
    expect(changeFailRateBand(0.2)).toBe('high');
    expect(changeFailRateBand(0.21)).toBe('low');
  });

  it('bands recovery time: under an hour elite, under a day high, longer low', () => {
    expect(recoveryTimeBand(3599)).toBe('elite');
    expect(recoveryTimeBand(3600)).toBe('high');
    expect(recoveryTimeBand(86_399)).toBe('high');
    expect(recoveryTimeBand(86_400)).toBe('low');
  });
});

describe('Function: datapointsForRelease', () => {
  const assessments = assessReleases(NOVEMBER);

  it('publishes a promoted rework deployment with its lead time, and the recovery of the failure it ended', () => {
    expect(datapointsForRelease(assessments, 'r9')).toEqual([
      { metric: 'Deployments', value: 1, unit: 'Count', once: { releaseId: 'r9', key: 'deployment' } },
      { metric: 'ReworkDeployments', value: 1, unit: 'Count', once: { releaseId: 'r9', key: 'deployment' } },
      {
        metric: 'LeadTimeSeconds',
        value: 5400,
        unit: 'Seconds',
        once: { releaseId: 'r9', key: 'lead-time' },
      },
      {
        metric: 'RecoveryTimeSeconds',
        value: 14_400,
        unit: 'Seconds',
        once: { releaseId: 'r8', key: 'recovery' },
      },
    ]);
  });

  it('publishes a deployment rolled back after promotion as deployed, failed and recovered', () => {
    expect(datapointsForRelease(assessments, 'r6').map((point) => [point.metric, point.value])).toEqual([
      ['Deployments', 1],
      ['LeadTimeSeconds', 90_000],
      ['FailedDeployments', 1],
      ['RecoveryTimeSeconds', 60],
    ]);
  });

  it('publishes nothing for a release that deployed nothing', () => {
    expect(datapointsForRelease(assessments, 'r4')).toEqual([]);
    expect(datapointsForRelease(assessments, 'r5')).toEqual([]);
    expect(datapointsForRelease(assessments, 'unknown')).toEqual([]);
  });
});
