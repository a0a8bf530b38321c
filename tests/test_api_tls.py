"""TLS failures against a loopback HTTPS server with a self-signed certificate."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cspctl.cloudstack import CloudStackClient, TlsError
from tests.apiserver import APIKEY, SECRETKEY, ApiServer


def self_signed(tmp: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cspctl-test-mgmt")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return ctx


async def test_untrusted_certificate_is_tls_error(tmp_path: Path) -> None:
    async with ApiServer(ssl_context=self_signed(tmp_path)) as srv:
        async with CloudStackClient(srv.url, apikey=APIKEY, secretkey=SECRETKEY,
                                    retries=2, retry_backoff=0.01) as api:
            with pytest.raises(TlsError) as info:
                await api.list_zones()
        text = str(info.value)
        assert "\n" not in text
        assert f"127.0.0.1:{srv.port} listZones: TLS failed" in text
        assert "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower()
        assert "verifycert" in text
        assert srv.requests == []  # never reached the API, and TLS errors are not retried
        # the operator's explicit choice to skip verification works
        async with CloudStackClient(srv.url, apikey=APIKEY, secretkey=SECRETKEY,
                                    verify_tls=False) as api:
            assert [z.name for z in await api.list_zones()] == ["zone1"]
