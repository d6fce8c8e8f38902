#include "tls_files.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace adapter {

namespace {

std::string fileStamp(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return "-";
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
         std::to_string(st.st_size) + "/" + std::to_string(st.st_ino);
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
Bio memBio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
}

std::unique_ptr<X509, decltype(&X509_free)> firstCert(const std::string& pem,
                                                      const std::string& path) {
  auto bio = memBio(pem);
  std::unique_ptr<X509, decltype(&X509_free)> x(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!x) throw std::runtime_error(path + " holds no PEM certificate");
  return x;
}

// A half-written rotation (new certificate, old key) is refused here
// rather than failing every handshake.
void checkPair(const TlsMaterial& m, const std::string& certFile, const std::string& keyFile) {
  auto cert = firstCert(m.certPem, certFile);
  auto bio = memBio(m.keyPem);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!key) throw std::runtime_error(keyFile + " holds no PEM private key");
  if (X509_check_private_key(cert.get(), key.get()) != 1)
    throw std::runtime_error(keyFile + " is not the key of " + certFile);
}

}  // namespace

TlsFiles::TlsFiles(std::string caFile, std::string certFile, std::string keyFile)
    : caFile_(std::move(caFile)), certFile_(std::move(certFile)), keyFile_(std::move(keyFile)) {}

std::string TlsFiles::stamp() const {
  return fileStamp(caFile_) + " " + fileStamp(certFile_) + " " + fileStamp(keyFile_);
}

TlsMaterial TlsFiles::load() const {
  TlsMaterial m;
  if (!caFile_.empty()) {
    m.caPem = readFile(caFile_);
    firstCert(m.caPem, caFile_);
  }
  if (!certFile_.empty()) {
    m.certPem = readFile(certFile_);
    m.keyPem = readFile(keyFile_);
    checkPair(m, certFile_, keyFile_);
  }
  return m;
}

}  // namespace adapter
