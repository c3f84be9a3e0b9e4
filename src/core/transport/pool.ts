// One transport per inventory host for the whole run: every task, delegate_to and transportFor()
// share it, so each host costs one SSH connection.
import type { ConnectionSpec, Transport } from '../types.js';
import { HaplayError } from '../errors.js';
import { LocalTransport } from './local.js';
import { SshTransport, type SshTransportOptions } from './ssh.js';

export function createTransport(spec: ConnectionSpec, opts?: SshTransportOptions): Transport {
  return spec.connection === 'local' ? new LocalTransport(spec.host) : new SshTransport(spec, opts);
}

export interface ConnectResult {
  host: string;
  /** Undefined when the host answered. */
  error?: HaplayError;
}

export class ConnectionPool {
  private readonly transports = new Map<string, Transport>();

  constructor(
    private readonly specFor: (hostName: string) => ConnectionSpec,
    private readonly opts: SshTransportOptions = {},
  ) {}

  /** The host's transport; the same instance for the whole run. Connects lazily (on first exec). */
  get(hostName: string): Transport {
    let t = this.transports.get(hostName);
    if (!t) {
      t = createTransport(this.specFor(hostName), this.opts);
      this.transports.set(hostName, t);
    }
    return t;
  }

  /**
   * Opens the connections to all hosts in parallel. Never throws: an unreachable host is reported
   * in its result (E_UNREACHABLE or E_HOST_KEY) and is not retried before its back-off delay.
   */
  async connectAll(hostNames: string[]): Promise<ConnectResult[]> {
    return Promise.all(
      hostNames.map(async (host) => {
        try {
          await this.get(host).connect();
          return { host };
        } catch (e) {
          const error =
            e instanceof HaplayError
              ? e
              : new HaplayError('E_UNREACHABLE', `cannot reach ${host}: ${e instanceof Error ? e.message : String(e)}`, {
                  where: { host },
                  cause: e,
                });
          return { host, error };
        }
      }),
    );
  }

  async closeAll(): Promise<void> {
    const all = [...this.transports.values()];
    this.transports.clear();
    await Promise.allSettled(all.map((t) => t.close()));
  }
}
