#include "test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <stdexcept>

namespace testsupport {

namespace {

std::string pemOf(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(b);
  return out;
}

std::string pemOf(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(b);
  return out;
}

std::string derOf(X509* x) {
  unsigned char* buf = nullptr;
  int n = i2d_X509(x, &buf);
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  return out;
}

void addName(X509_NAME* name, const char* field, const std::string& value) {
  X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
}

void addExt(X509* x, X509* issuer, int nid, const std::string& value) {
  if (value.empty()) return;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) throw std::runtime_error("bad extension " + value);
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
}

long nextSerial() {
  static long serial = std::time(nullptr) * 100;
  return ++serial;
}

// A CA certificate for `key`, signed by `issuerKey`; self-signed when
// `issuer` is null.
X509* newCaCert(const std::string& commonName, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuerKey) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), nextSerial());
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  addName(X509_get_subject_name(x), "CN", commonName);
  X509* signer = issuer ? issuer : x;
  X509_set_issuer_name(x, X509_get_subject_name(signer));
  addExt(x, signer, NID_basic_constraints, "critical,CA:TRUE");
  addExt(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  addExt(x, signer, NID_subject_key_identifier, "hash");
  X509_sign(x, issuerKey, EVP_sha256());
  return x;
}

void addSubject(X509_NAME* name, const CertOptions& o) {
  if (!o.subject.empty()) {
    for (const auto& [field, value] : o.subject) addName(name, field.c_str(), value);
    return;
  }
  for (const auto& org : o.organizations) addName(name, "O", org);
  if (!o.commonName.empty()) addName(name, "CN", o.commonName);
}

}  // namespace

struct TestCa::Impl {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  ~Impl() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

TestCa::TestCa(const std::string& commonName) : impl_(std::make_unique<Impl>()) {
  impl_->key = EVP_EC_gen("P-256");
  impl_->cert = newCaCert(commonName, impl_->key, nullptr, impl_->key);
  pem_ = pemOf(impl_->cert);
  der_ = derOf(impl_->cert);
}

TestCa::TestCa(const std::string& commonName, const TestCa& issuer)
    : impl_(std::make_unique<Impl>()) {
  impl_->key = EVP_EC_gen("P-256");
  impl_->cert = newCaCert(commonName, impl_->key, issuer.impl_->cert, issuer.impl_->key);
  pem_ = pemOf(impl_->cert);
  der_ = derOf(impl_->cert);
}

TestCa::~TestCa() = default;

KeyPair TestCa::issue(const CertOptions& o) const {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), nextSerial());
  X509_gmtime_adj(X509_getm_notBefore(x), o.notBeforeOffset);
  X509_gmtime_adj(X509_getm_notAfter(x), o.notBeforeOffset + o.validSeconds);
  X509_set_pubkey(x, key);
  addSubject(X509_get_subject_name(x), o);
  X509_set_issuer_name(x, X509_get_subject_name(impl_->cert));
  addExt(x, impl_->cert, NID_basic_constraints, "critical,CA:FALSE");
  addExt(x, impl_->cert, NID_key_usage, "critical,digitalSignature,keyEncipherment");
  std::string eku;
  if (o.serverAuth) eku += "serverAuth";
  if (o.clientAuth) eku += std::string(eku.empty() ? "" : ",") + "clientAuth";
  addExt(x, impl_->cert, NID_ext_key_usage, eku);
  std::string san;
  for (const auto& d : o.dnsNames) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& ip : o.ipAddresses) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  addExt(x, impl_->cert, NID_subject_alt_name, san);
  X509_sign(x, impl_->key, EVP_sha256());
  KeyPair kp{pemOf(x), pemOf(key), derOf(x)};
  X509_free(x);
  EVP_PKEY_free(key);
  return kp;
}

}  // namespace testsupport
