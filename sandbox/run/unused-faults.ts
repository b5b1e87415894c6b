import type { SimulatedWorld } from '../aws/world.ts';
import { commandFaultError, type Scenario } from '../scenario/schema.ts';

/**
 * The scenario's faults that never applied, each named by its path: a fault on a command or state that
 * was never reached (or only before its `after`), a delivery fault or lost event no event matched. The run
 * still shows what happened; this says that what the scenario set out to inject did not, so a passing
 * run is not mistaken for one that survived the fault. Faults applied fewer than `times` are not listed.
 */
export const unusedFaults = (scenario: Scenario, world: SimulatedWorld): string[] => {
  const unused: string[] = [];
  // seedWorld installs command and state faults in scenario order, each kind in its own list.
  const commandFaults = [...world.commandFaults];
  const stateFaults = [...world.sfn.stateFaults];
  scenario.faults.forEach((fault, index) => {
    const installed = 'command' in fault ? commandFaults.shift() : stateFaults.shift();
    if (installed?.remaining === fault.times)
      unused.push(
        `faults[${index}] (${'command' in fault ? `${fault.command}: ${commandFaultError(fault)}${fault.responseLost ? ', response lost' : ''}` : `state "${fault.state}": ${fault.error}`}) never fired`,
      );
  });
  scenario.world.delivery.forEach((rule, index) => {
    const installed = world.delivery.rules[index];
    if (installed?.remaining === rule.times)
      unused.push(
        `world.delivery[${index}] (${rule.detailType}${rule.fn ? ` to ${rule.fn}` : ''}) matched no event`,
      );
  });
  scenario.world.dropEvents.forEach((drop, index) => {
    const installed = world.droppedEvents[index];
    if (installed?.remaining === drop.times)
      unused.push(`world.dropEvents[${index}] (${drop.detailType}) matched no event`);
  });
  return unused;
};
