//! ELBv2 errors, by the codes of the ELBv2 model.

/// Why an ELBv2 request failed; [`ElbError::code`] is the AWS error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElbError {
    #[error("One or more load balancers not found: {0}")]
    LoadBalancerNotFound(String),
    #[error("One or more target groups not found: {0}")]
    TargetGroupNotFound(String),
    #[error("One or more listeners not found: {0}")]
    ListenerNotFound(String),
    #[error("One or more rules not found: {0}")]
    RuleNotFound(String),
    #[error("A load balancer with the same name '{0}' exists, but with different settings")]
    DuplicateLoadBalancerName(String),
    #[error("A target group with the same name '{0}' exists, but with different settings")]
    DuplicateTargetGroupName(String),
    #[error("A listener already exists on port {0} of this load balancer")]
    DuplicateListener(u16),
    #[error("The specified priority {0} is in use")]
    PriorityInUse(u32),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    InvalidTarget(String),
    #[error("{0}")]
    ResourceInUse(String),
    #[error("{0}")]
    InvalidConfiguration(String),
    #[error("{0}")]
    OperationNotPermitted(String),
    #[error("{0}")]
    TooManyTags(String),
    #[error("{0}")]
    DuplicateTagKeys(String),
    #[error("{0}")]
    TooManyRules(String),
    #[error("{0}")]
    TooManyLoadBalancers(String),
    #[error("{0}")]
    TooManyTargetGroups(String),
    #[error("{0}")]
    TooManyListeners(String),
    #[error("{0}")]
    InvalidSubnet(String),
    #[error("{0}")]
    InvalidSecurityGroup(String),
    #[error("SSL policy '{0}' not found")]
    SslPolicyNotFound(String),
    #[error("Certificate '{0}' not found")]
    CertificateNotFound(String),
    #[error("{0}")]
    TooManyCertificates(String),
    #[error("One or more trust stores not found: {0}")]
    TrustStoreNotFound(String),
    #[error("A trust store with the name '{0}' already exists")]
    DuplicateTrustStoreName(String),
    #[error("{0}")]
    TrustStoreInUse(String),
    #[error("{0}")]
    TooManyTrustStores(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    CapacityUnitsLimitExceeded(String),
    #[error("{0}")]
    CapacityDecreaseRequestLimitExceeded(String),
    #[error("{0}")]
    Internal(String),
}

impl ElbError {
    /// The AWS error code.
    pub fn code(&self) -> &'static str {
        match self {
            ElbError::LoadBalancerNotFound(_) => "LoadBalancerNotFound",
            ElbError::TargetGroupNotFound(_) => "TargetGroupNotFound",
            ElbError::ListenerNotFound(_) => "ListenerNotFound",
            ElbError::RuleNotFound(_) => "RuleNotFound",
            ElbError::DuplicateLoadBalancerName(_) => "DuplicateLoadBalancerName",
            ElbError::DuplicateTargetGroupName(_) => "DuplicateTargetGroupName",
            ElbError::DuplicateListener(_) => "DuplicateListener",
            ElbError::PriorityInUse(_) => "PriorityInUse",
            ElbError::Validation(_) => "ValidationError",
            ElbError::InvalidTarget(_) => "InvalidTarget",
            ElbError::ResourceInUse(_) => "ResourceInUse",
            ElbError::InvalidConfiguration(_) => "InvalidConfigurationRequest",
            ElbError::OperationNotPermitted(_) => "OperationNotPermitted",
            ElbError::TooManyTags(_) => "TooManyTags",
            ElbError::DuplicateTagKeys(_) => "DuplicateTagKeys",
            ElbError::TooManyRules(_) => "TooManyRules",
            ElbError::TooManyLoadBalancers(_) => "TooManyLoadBalancers",
            ElbError::TooManyTargetGroups(_) => "TooManyTargetGroups",
            ElbError::TooManyListeners(_) => "TooManyListeners",
            ElbError::InvalidSubnet(_) => "InvalidSubnet",
            ElbError::InvalidSecurityGroup(_) => "InvalidSecurityGroup",
            ElbError::SslPolicyNotFound(_) => "SSLPolicyNotFound",
            ElbError::CertificateNotFound(_) => "CertificateNotFound",
            ElbError::TooManyCertificates(_) => "TooManyCertificates",
            ElbError::TrustStoreNotFound(_) => "TrustStoreNotFound",
            ElbError::DuplicateTrustStoreName(_) => "DuplicateTrustStoreName",
            ElbError::TrustStoreInUse(_) => "TrustStoreInUse",
            ElbError::TooManyTrustStores(_) => "TooManyTrustStores",
            ElbError::ResourceNotFound(_) => "ResourceNotFound",
            ElbError::CapacityUnitsLimitExceeded(_) => "CapacityUnitsLimitExceeded",
            ElbError::CapacityDecreaseRequestLimitExceeded(_) => {
                "CapacityDecreaseRequestLimitExceeded"
            }
            ElbError::Internal(_) => "InternalFailure",
        }
    }

    /// Client error (`Sender`) or not (`Receiver`).
    pub fn is_client(&self) -> bool {
        !matches!(self, ElbError::Internal(_))
    }
}

pub(crate) fn validation(e: impl Into<String>) -> ElbError {
    ElbError::Validation(e.into())
}
