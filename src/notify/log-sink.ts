import type { Logger } from '../log.js';
import type { AlertSink, MonitorAlert } from './events.js';

/**
 * Writes each cycle's alerts to the log. The durable outbox and the email, webhook and
 * Alertmanager channels consume the same `publish` calls once they exist.
 */
export class LogAlertSink implements AlertSink {
  constructor(private readonly log: Logger) {}

  publish(alerts: readonly MonitorAlert[]): void {
    for (const a of alerts) {
      if (a.kind === 'device') {
        this.log.info(
          {
            component: 'notify',
            event: a.event.type,
            account: a.account,
            device: a.device.number,
            name: a.device.name,
            status: a.event.status,
            previous_status: a.event.previousStatus,
          },
          `alert ${a.event.type}: ${a.device.name} (${a.device.number}) ${a.event.status}`,
        );
      } else {
        this.log.warn(
          { component: 'notify', event: a.event.type, account: a.account, reason: a.event.reason },
          `alert ${a.event.type}: account ${a.account}`,
        );
      }
    }
  }
}
