from tests.e2e.test_ivr_e2e import _finished, _vendor_call, VENDOR, ACCEPTS_20


def test_dbg(telephony):
    env = telephony
    env.sim.control(
        "POST",
        "faults",
        json={
            "target": "callback",
            "kind": "reordered",
            "endpoint": "status",
            "delay_seconds": 60,
            "remaining": 1,
        },
    )
    env.sim.script(VENDOR, keys=ACCEPTS_20)
    row = _finished(env, _vendor_call(env))
    print({k: row[k] for k in ("status", "outcome", "answered_at", "ended_at", "duration")})
    print(env.sim.call(row["call_sid"])["callbacks"])
    print([(e.name, e.data) for e in env.service.events])
