//! A deployed stack's table, found by the stack's name: the `TableName` output of `template.yaml`, so
//! an operator names the stack they deployed (`tandem --stack tandem …`) instead of copying a
//! generated table name.

use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_cloudformation::Client;

/// The stack output that names tandem's table.
pub const TABLE_OUTPUT: &str = "TableName";

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("there is no stack named `{stack}` in this account and region (AWS_REGION / the profile's region)")]
    NoSuchStack { stack: String },
    #[error("stack `{stack}` has no `{TABLE_OUTPUT}` output: is it a tandem stack, and has its deployment finished?")]
    NoTableOutput { stack: String },
    #[error("could not read stack `{stack}` from CloudFormation: {detail}")]
    Unavailable { stack: String, detail: String },
}

/// The table of stack `stack` (its `TableName` output), with the SDK's configuration from the
/// environment, as [`crate::DynamoStore::from_env`] has it.
pub async fn table_of_stack(stack: &str) -> Result<String, StackError> {
    let config = tandem_aws_config::from_env().await;
    let described = Client::new(&config).describe_stacks().stack_name(stack).send().await.map_err(|error| {
        // CloudFormation answers an unknown stack with a ValidationError "Stack with id … does not exist".
        if error.code() == Some("ValidationError")
            && error.message().is_some_and(|text| text.contains("does not exist"))
        {
            StackError::NoSuchStack { stack: stack.to_string() }
        } else {
            StackError::Unavailable { stack: stack.to_string(), detail: DisplayErrorContext(&error).to_string() }
        }
    })?;
    described
        .stacks()
        .iter()
        .flat_map(|found| found.outputs())
        .find(|output| output.output_key() == Some(TABLE_OUTPUT))
        .and_then(|output| output.output_value())
        .filter(|table| !table.is_empty())
        .map(str::to_string)
        .ok_or_else(|| StackError::NoTableOutput { stack: stack.to_string() })
}
