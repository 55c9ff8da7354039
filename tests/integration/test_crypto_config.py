"""OpenSSL's configuration decides which AES-256-GCM fleetca may use. Without a FIPS configuration
the envelope runs OpenSSL's built-in AES-256-GCM without a provider fetch (src/io/crypto.c); under
one (default_properties = fips=yes) it must take the cipher from a provider, and where no provider
gives it (the FIPS provider is not installed here, as on most hosts that copy such a configuration)
every command fails closed: exit 1, a message that names the configuration and what to do, and not
one row or activity changed. A real OPENSSL_CONF file, the real binary, a real server."""
import tempfile

from fcalib import (CONVERGED_YAML, Failures, env_for, expect, fleetca_activities, new_db, run, table_fingerprint,
                    write_file)

T = Failures()
TMP = tempfile.mkdtemp(prefix="fca-osslconf-")
FIPS_CONF = write_file(TMP, "fips.cnf", "openssl_conf = openssl_init\n[openssl_init]\nalg_section = algorithm_sect\n"
                       "[algorithm_sect]\ndefault_properties = fips=yes\n")
CONVERGED = write_file(TMP, "converged.yml", CONVERGED_YAML)
STAGE = write_file(TMP, "stage.yml", "version: 1\npolicy: {min_overlap: 7d}\ncas:\n"
                   "  conditional_access_idp: {generation: 2, stage: staged}\n")

def refused(args, env, db, what):
    before = (table_fingerprint(db), len(fleetca_activities(db)))
    rc, out, err = run(args, env)
    expect(rc == 1, "%s under a FIPS configuration: exit %d, wanted 1\n%s%s" % (what, rc, out, err))
    expect("FIPS-approved" in err and "AES-256-GCM" in err and "OPENSSL_CONF" in err,
           "%s: the error names the FIPS configuration and the way out: %r" % (what, err))
    expect("GCM tag mismatch" not in err and "FLEET_SERVER_PRIVATE_KEY" not in err,
           "%s: not blamed on the server key: %r" % (what, err))
    expect((table_fingerprint(db), len(fleetca_activities(db))) == before, "%s changed the database" % what)


@T.case
def fips_configuration_without_its_provider_fails_closed():
    db = new_db("fips")
    env = env_for(db)
    fips = dict(env, OPENSSL_CONF=FIPS_CONF)
    refused(["apply", "-f", CONVERGED], fips, db, "adopting apply")  # no state document yet: the CA rows
    run(["apply", "-f", CONVERGED], env, check_rc=0)  # the control: the default configuration adopts
    rc, out, err = run(["apply", "-f", CONVERGED], env)
    expect(rc == 0 and "Nothing to do" in out, "converged with the default configuration: %d %s %s" % (rc, out, err))
    refused(["apply", "-f", CONVERGED], fips, db, "converged apply")
    refused(["apply", "-f", STAGE], fips, db, "staging apply")
    refused(["status"], fips, db, "status")
    refused(["plan", "-f", STAGE], fips, db, "plan")


T.done()
