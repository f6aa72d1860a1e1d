import type { ServerResponse } from 'node:http';

type HealthStatus = 'Healthy' | 'HealthyBusy';

/**
 * The /ping answer AgentCore polls. HealthyBusy while any invocation is in flight keeps the session's
 * microVM alive; the timestamp moves only when the status changes, as the platform expects.
 */
export class Health {
  private inFlight = 0;
  private changedAt = nowSeconds();

  begin() {
    if (this.inFlight++ === 0) this.changedAt = nowSeconds();
  }

  end() {
    if (--this.inFlight === 0) this.changedAt = nowSeconds();
  }

  get busy() {
    return this.inFlight > 0;
  }

  snapshot(): { status: HealthStatus; time_of_last_update: number } {
    return { status: this.busy ? 'HealthyBusy' : 'Healthy', time_of_last_update: this.changedAt };
  }

  /**
   * Answer a /ping with the snapshot as JSON, by Node's own response methods: the same answer before
   * and after the server's modules load (main.ts), and one that does not make Express read its MIME
   * database (~50 ms CPU) to add a charset it would add to every JSON response.
   */
  answer(res: ServerResponse) {
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(this.snapshot()));
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
