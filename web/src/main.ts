/**
 * The dashboard's entry point: defines the custom elements; `index.html` places the app.
 *
 * The defines live here, not beside each class, because the package declares
 * `"sideEffects": false`: the bundler would drop a module imported only for its side effect.
 */
import { GossipDashboard } from './components/dashboard-app.ts';
import { EventTimeline } from './components/event-timeline.ts';
import { MemberTable } from './components/member-table.ts';
import { RateChart } from './components/rate-chart.ts';
import { SpreadView } from './components/spread-view.ts';
import { StateView } from './components/state-view.ts';
import { UserEvents } from './components/user-events.ts';

const elements: Record<string, CustomElementConstructor> = {
  'gd-rate-chart': RateChart,
  'gd-spread': SpreadView,
  'gd-members': MemberTable,
  'gd-timeline': EventTimeline,
  'gd-user-events': UserEvents,
  'gd-state': StateView,
  'gossip-dashboard': GossipDashboard,
};
for (const [tag, ctor] of Object.entries(elements)) {
  if (!customElements.get(tag)) customElements.define(tag, ctor);
}
