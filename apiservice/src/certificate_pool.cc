#include "apiservice/certificate_pool.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <ctime>

#include <stdexcept>

namespace apiservice {

struct CertificatePool::Store {
  X509_STORE* store = X509_STORE_new();
  ~Store() { X509_STORE_free(store); }
};

namespace {

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

X509Ptr fromDer(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

std::vector<std::string> nameEntries(X509_NAME* name, int nid) {
  std::vector<std::string> out;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n >= 0) out.emplace_back(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
  }
  return out;
}

// X509_V_OK when `leaf`, with the intermediates after it in `derChain`,
// chains up to a certificate of `store`; else OpenSSL's reason.
int verifyChain(X509_STORE* store, X509* leaf, const std::vector<std::string>& derChain) {
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  std::vector<X509Ptr> keep;
  for (size_t i = 1; i < derChain.size(); ++i) {
    if (auto x = fromDer(derChain[i])) {
      sk_X509_push(untrusted, x.get());
      keep.push_back(std::move(x));
    }
  }
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, untrusted);
  // Client authentication: an extended key usage, when present, must
  // allow it (as Go treats certificates without one as usable for any).
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
  // Go trusts every certificate of the pool, self-signed or not, so a
  // bundle of only an intermediate CA anchors the chains it signs.
  X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
  int ok = X509_verify_cert(ctx);
  int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  ERR_clear_error();
  return err == X509_V_OK && ok != 1 ? X509_V_ERR_UNSPECIFIED : err;
}

VerifiedClient clientOf(X509* leaf) {
  VerifiedClient v;
  X509_NAME* subject = X509_get_subject_name(leaf);
  auto cns = nameEntries(subject, NID_commonName);
  // Go's pkix.Name keeps the last CN of the subject, and all the O's.
  if (!cns.empty()) v.commonName = cns.back();
  v.organizations = nameEntries(subject, NID_organizationName);
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_getm_notAfter(leaf), &tm) == 1) v.notAfterUnix = timegm(&tm);
  return v;
}

}  // namespace

CertificatePool::~CertificatePool() = default;

std::shared_ptr<const CertificatePool> CertificatePool::fromPem(const std::string& pem,
                                                                const std::string& source) {
  std::shared_ptr<CertificatePool> pool(new CertificatePool());
  pool->store_ = std::make_unique<Store>();
  pool->source_ = source;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    if (X509_STORE_add_cert(pool->store_->store, x) == 1) ++pool->count_;
    X509_free(x);
  }
  BIO_free(bio);
  ERR_clear_error();  // the loop ends on a "no start line" error
  if (pool->count_ == 0) throw std::runtime_error(source + ": no PEM certificate found");
  return pool;
}

std::optional<VerifiedClient> CertificatePool::verify(const std::vector<std::string>& derChain,
                                                      std::string* whyNot) const {
  auto fail = [&](std::string why) -> std::optional<VerifiedClient> {
    if (whyNot) *whyNot = std::move(why);
    return std::nullopt;
  };
  if (derChain.empty()) return fail("no client certificate");
  X509Ptr leaf = fromDer(derChain[0]);
  if (!leaf) return fail("the client certificate is not valid DER");
  int err = verifyChain(store_->store, leaf.get(), derChain);
  if (err != X509_V_OK) {
    return fail(std::string("certificate verification against ") + source_ +
                " failed: " + X509_verify_cert_error_string(err));
  }
  return clientOf(leaf.get());
}

}  // namespace apiservice
