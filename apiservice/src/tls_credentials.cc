#include "apiservice/tls_credentials.h"

#include "common/file_stamp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <stdexcept>

namespace apiservice {

namespace ssl = boost::asio::ssl;

TlsCredentials::TlsCredentials(std::string certFile, std::string keyFile, common::Logger& log,
                               bool requestClientCertificates)
    : certFile_(std::move(certFile)),
      keyFile_(std::move(keyFile)),
      log_(log),
      requestClientCertificates_(requestClientCertificates) {
  loadedFingerprint_ = fingerprint();
  ctx_ = load();
}

std::shared_ptr<ssl::context> TlsCredentials::load() const {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* raw = ctx->native_handle();
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                   ssl::context::single_dh_use);
  // Idle keep-alive connections keep no TLS read or write buffers.
  SSL_CTX_set_mode(ctx->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  // TLS 1.2 suites as Go's defaults: forward-secret AEAD only.
  SSL_CTX_set_cipher_list(
      raw,
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
      "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(certFile_, ec);
  if (ec)
    throw std::runtime_error("cannot load TLS certificate " + certFile_ + ": " + ec.message());
  ctx->use_private_key_file(keyFile_, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("cannot load TLS private key " + keyFile_ + ": " + ec.message());
  if (SSL_CTX_check_private_key(raw) != 1) {
    throw std::runtime_error("TLS private key " + keyFile_ + " does not match certificate " +
                             certFile_);
  }
  if (requestClientCertificates_) {
    // Any chain is accepted here and verified per request, as Go's
    // tls.RequestClientCert: the CA bundles can change (ConfigMap) while
    // the listener keeps running.
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
    // A resumed session does not carry the peer's intermediates.
    SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(raw, SSL_OP_NO_TICKET);
    static const unsigned char kSessionContext[] = "metrics-adapter";
    SSL_CTX_set_session_id_context(raw, kSessionContext, sizeof kSessionContext - 1);
  }
  return ctx;
}

std::string TlsCredentials::fingerprint() const {
  return common::fileStamp(certFile_) + ";" + common::fileStamp(keyFile_);
}

std::shared_ptr<ssl::context> TlsCredentials::context() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ctx_;
}

bool TlsCredentials::reloadIfChanged() {
  std::string fp = fingerprint();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (fp == loadedFingerprint_) return false;
  }
  try {
    auto ctx = load();
    std::lock_guard<std::mutex> lock(mu_);
    ctx_ = std::move(ctx);
    loadedFingerprint_ = fp;
    log_.info("reloaded serving certificate", {{"cert", certFile_}});
    return true;
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mu_);
    loadedFingerprint_ = fp;  // report once per change, keep serving the old pair
    log_.error("serving certificate reload failed; keeping the previous one",
               {{"error", e.what()}});
    return false;
  }
}

std::pair<std::string, std::string> TlsCredentials::ensureSelfSigned(
    const std::filesystem::path& dir, const std::vector<std::string>& hosts) {
  std::filesystem::create_directories(dir);
  auto cert = (dir / "apiserver.crt").string();
  auto key = (dir / "apiserver.key").string();
  if (std::filesystem::exists(cert) && std::filesystem::exists(key)) return {cert, key};

  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  if (!pkey) throw std::runtime_error("cannot generate a key for the self-signed certificate");
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), static_cast<long>(std::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
  X509_set_version(x, 2);
  X509_set_pubkey(x, pkey);
  X509_NAME* name = X509_get_subject_name(x);
  std::string cn = "metrics-adapter@" + std::to_string(std::time(nullptr));
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  std::string san;
  for (const auto& h : hosts) {
    unsigned char buf[16];
    bool ip = inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
    san += (san.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + h;
  }
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  for (auto [nid, val] :
       {std::pair{NID_subject_alt_name, san},
        std::pair{NID_basic_constraints, std::string("CA:FALSE")},
        std::pair{NID_ext_key_usage, std::string("serverAuth")},
        std::pair{NID_key_usage, std::string("critical,digitalSignature,keyEncipherment")}}) {
    if (val.empty()) continue;
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, val.c_str());
    if (ext) {
      X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    }
  }
  X509_sign(x, pkey, EVP_sha256());
  auto writeFile = [](const std::string& path, mode_t mode, auto writer) {
    // Created with its final mode: the key is never readable by others.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    FILE* f = fd >= 0 ? ::fdopen(fd, "w") : nullptr;
    if (!f) throw std::runtime_error("cannot write " + path);
    bool ok = writer(f);
    std::fclose(f);
    if (!ok) throw std::runtime_error("cannot write " + path);
  };
  writeFile(key, 0600, [&](FILE* f) {
    return PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  });
  writeFile(cert, 0644, [&](FILE* f) { return PEM_write_X509(f, x) == 1; });
  X509_free(x);
  EVP_PKEY_free(pkey);
  return {cert, key};
}

}  // namespace apiservice
