// AWS credentials in the SDKs' default order: environment, shared
// credentials and config files (profiles, incl. role_arn with
// source_profile or web_identity_token_file), web identity (IRSA), container
// credentials (ECS, EKS Pod Identity), EC2 instance metadata (IMDSv2).
// Temporary credentials are refreshed before they expire.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "queue_stats/http_transport.h"
#include "queue_stats/sigv4.h"

namespace queue_stats {

class CredentialsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // Current credentials; throws CredentialsError when none can be had.
  virtual AwsCredentials get() = 0;
  // AWS rejected `rejected` (ExpiredToken, InvalidClientTokenId): forget
  // them if they are still the cached ones, so the next get() fetches anew
  // and concurrent callers that saw the same rejection cause one refresh.
  // Static credentials have nothing to refresh.
  virtual void invalidate(const AwsCredentials& /*rejected*/) {}
};

// What the chain reads: the process environment and files, behind a seam.
struct AwsEnvironment {
  std::function<std::optional<std::string>(const std::string&)> getenv;
  std::function<std::optional<std::string>(const std::string&)> readFile;
  std::function<int64_t()> nowUnix;
  static AwsEnvironment process();
};

class DefaultCredentialsChain final : public CredentialsProvider {
 public:
  // `timeout` bounds each request to STS and the credential endpoints
  // (IMDS keeps its own shorter ones when they are shorter).
  DefaultCredentialsChain(AwsEnvironment env, HttpTransport& http, std::string region,
                          std::chrono::milliseconds timeout = std::chrono::seconds(5));
  AwsCredentials get() override;
  void invalidate(const AwsCredentials& rejected) override;
  // The region from the environment or the profile (for a config without one).
  std::optional<std::string> profileRegion() const;

 private:
  AwsCredentials resolve();
  std::optional<AwsCredentials> fromEnvironment();
  std::optional<AwsCredentials> fromProfile(const std::string& profile, int depth);
  std::optional<AwsCredentials> fromWebIdentity(const std::string& roleArn,
                                                const std::string& tokenFile,
                                                const std::string& sessionName);
  std::optional<AwsCredentials> fromContainer();
  std::optional<AwsCredentials> fromInstanceMetadata();
  std::string stsEndpoint() const;
  std::map<std::string, std::string> profileSection(const std::string& profile) const;

  AwsEnvironment env_;
  HttpTransport& http_;
  std::string region_;
  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::optional<AwsCredentials> cached_;
};

// Parsers (exposed for tests and fuzzing).
// INI files as the AWS CLI writes them: section -> key -> value.
std::map<std::string, std::map<std::string, std::string>> parseIni(const std::string& text);
// The <Credentials> of an STS AssumeRole* answer; throws CredentialsError.
AwsCredentials parseStsCredentials(const std::string& xml);
// {AccessKeyId, SecretAccessKey, Token, Expiration} (ECS, EKS, IMDS).
AwsCredentials parseJsonCredentials(const std::string& json);
// Whether AWS_CONTAINER_CREDENTIALS_FULL_URI may be fetched, as the AWS SDKs
// decide: any https URL; http only to a loopback literal (127.0.0.0/8, [::1],
// localhost) or the ECS/EKS hosts 169.254.170.2, 169.254.170.23 and
// [fd00:ec2::23]. Host names are not resolved: the answer could change
// between this check and the connect (DNS rebinding).
bool isAllowedContainerCredentialsUri(const std::string& uri);
// RFC 3339 / ISO 8601 UTC ("2024-01-01T00:00:00Z", fractions allowed).
std::optional<int64_t> parseIsoTime(const std::string& s);

}  // namespace queue_stats
