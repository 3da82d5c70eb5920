//! The domain commands the API (and the CLI, and the stack loader) send to
//! the engine, handled in one `match` in [`super::Engine::handle`].

use crate::model::capacity_provider as cp;
use crate::model::request;
use crate::model::{agent, capacity_provider};
use crate::model::{
    Cluster, ContainerInstance, Failure, Task, TaskDefinition, TaskDefinitionError,
};

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    CreateCluster(request::CreateCluster),
    DescribeClusters(request::DescribeClusters),
    ListClusters(request::ListClusters),
    UpdateCluster(request::UpdateCluster),
    UpdateClusterSettings(request::UpdateCluster),
    TagResource(request::TagResource),
    UntagResource(request::UntagResource),
    ListTagsForResource(request::ResourceArn),
    DeregisterContainerInstance(request::DeregisterContainerInstance),
    DeleteTaskDefinitions(request::DeleteTaskDefinitions),
    PutAccountSetting(request::PutAccountSetting),
    PutAccountSettingDefault(request::PutAccountSetting),
    DeleteAccountSetting(request::DeleteAccountSetting),
    ListAccountSettings(request::ListAccountSettings),
    PutAttributes(request::PutAttributes),
    DeleteAttributes(request::PutAttributes),
    ListAttributes(request::ListAttributes),
    DescribeCapacityProviders(request::DescribeCapacityProviders),
    UpdateTaskProtection(request::UpdateTaskProtection),
    GetTaskProtection(request::GetTaskProtection),
    DeleteCluster(request::DeleteCluster),
    RegisterContainerInstance(request::RegisterContainerInstance),
    ListContainerInstances(request::ListContainerInstances),
    DescribeContainerInstances(request::DescribeContainerInstances),
    RegisterTaskDefinition(Box<TaskDefinition>),
    DescribeTaskDefinition(request::TaskDefinitionRef),
    ListTaskDefinitions(request::ListTaskDefinitions),
    ListTaskDefinitionFamilies(request::ListTaskDefinitions),
    DeregisterTaskDefinition(request::TaskDefinitionRef),
    RunTask(request::RunTask),
    StartTask(request::StartTask),
    StopTask(request::StopTask),
    DescribeTasks(request::DescribeTasks),
    ListTasks(request::ListTasks),
    /// CreateCluster with its capacity providers, strategy and Service
    /// Connect defaults.
    CreateClusterWith(request::CreateCluster, cp::ClusterCapacity),
    /// UpdateCluster with its Service Connect defaults.
    UpdateClusterWith(request::UpdateCluster, cp::ClusterCapacity),
    /// RunTask with its capacity provider strategy.
    RunTaskWith(request::RunTask, cp::RunTaskCapacity),
    CreateCapacityProvider(capacity_provider::CreateCapacityProvider),
    UpdateCapacityProvider(capacity_provider::UpdateCapacityProvider),
    DeleteCapacityProvider(capacity_provider::DeleteCapacityProvider),
    PutClusterCapacityProviders(capacity_provider::PutClusterCapacityProviders),
    ListServicesByNamespace(capacity_provider::ListServicesByNamespace),
    DiscoverPollEndpoint(agent::DiscoverPollEndpoint),
    SubmitTaskStateChange(agent::SubmitTaskStateChange),
    SubmitContainerStateChange(agent::SubmitContainerStateChange),
    SubmitAttachmentStateChanges(agent::SubmitAttachmentStateChanges),
    UpdateContainerAgent(agent::UpdateContainerAgent),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Cluster(Cluster),
    Clusters {
        clusters: Vec<Cluster>,
        failures: Vec<Failure>,
    },
    ClusterArns(Vec<String>),
    ContainerInstance(ContainerInstance),
    ContainerInstances {
        instances: Vec<ContainerInstance>,
        failures: Vec<Failure>,
    },
    ContainerInstanceArns(Vec<String>),
    TaskDefinition(TaskDefinition),
    TaskDefinitionArns(Vec<String>),
    Families(Vec<String>),
    Tasks {
        tasks: Vec<Task>,
        failures: Vec<Failure>,
    },
    Task(Task),
    TaskArns(Vec<String>),
    /// A task definition with the tags it was registered with.
    TaskDefinitionTagged {
        task_definition: TaskDefinition,
        tags: Vec<request::Tag>,
    },
    TaskDefinitions {
        task_definitions: Vec<TaskDefinition>,
        failures: Vec<Failure>,
    },
    Tags(Vec<request::Tag>),
    Empty,
    /// An answer already in its AWS shape (account settings, attributes,
    /// capacity providers).
    Json(serde_json::Value),
    /// One page of a List reply, and where the next one starts.
    Paged {
        reply: Box<Reply>,
        next_token: String,
    },
}

/// Why a command failed, mapped 1:1 onto an ECS error type.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("Cluster not found.")]
    ClusterNotFound(String),
    #[error(transparent)]
    TaskDefinition(#[from] TaskDefinitionError),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    Client(String),
    #[error("The Cluster cannot be deleted while Container Instances are active or draining.")]
    ClusterContainsInstances,
    #[error("The Cluster cannot be deleted while Tasks are active.")]
    ClusterContainsTasks,
    #[error("Service not found.")]
    ServiceNotFound(String),
    #[error("{0}")]
    ResourceNotFound(String),
    /// Put/DeleteAttributes on a target that does not exist.
    #[error("{0}")]
    TargetNotFound(String),
    #[error("{0}")]
    ResourceInUse(String),
    #[error("{0}")]
    UpdateInProgress(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    NoUpdateAvailable(String),
    #[error("{0}")]
    MissingVersion(String),
    #[error("{0}")]
    NamespaceNotFound(String),
    #[error("internal error: {0}")]
    Server(String),
    #[error("the change could not be stored: {0}")]
    Store(#[from] crate::db::DbError),
}

impl EngineError {
    /// The `__type` of the AWS error.
    pub fn aws_type(&self) -> &'static str {
        match self {
            EngineError::ClusterNotFound(_) => "ClusterNotFoundException",
            EngineError::TaskDefinition(e) => e.aws_type(),
            EngineError::InvalidParameter(_) => "InvalidParameterException",
            EngineError::Client(_) => "ClientException",
            EngineError::ClusterContainsInstances => "ClusterContainsContainerInstancesException",
            EngineError::ClusterContainsTasks => "ClusterContainsTasksException",
            EngineError::ServiceNotFound(_) => "ServiceNotFoundException",
            EngineError::ResourceNotFound(_) => "ResourceNotFoundException",
            EngineError::TargetNotFound(_) => "TargetNotFoundException",
            EngineError::ResourceInUse(_) => "ResourceInUseException",
            EngineError::UpdateInProgress(_) => "UpdateInProgressException",
            EngineError::LimitExceeded(_) => "LimitExceededException",
            EngineError::NoUpdateAvailable(_) => "NoUpdateAvailableException",
            EngineError::MissingVersion(_) => "MissingVersionException",
            EngineError::NamespaceNotFound(_) => "NamespaceNotFoundException",
            EngineError::Server(_) | EngineError::Store(_) => "ServerException",
        }
    }
}
