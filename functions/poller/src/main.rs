use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use tandem_lambda_runtime::{init_json_logs, Runtime};
use tandem_poller_function::handler;

fn main() -> Result<(), Error> {
    tandem_lambda_runtime::run_main(serve())?
}

async fn serve() -> Result<(), Error> {
    init_json_logs();
    // Built once per container: clients, secret cache and engines outlive the invocations.
    let runtime = Runtime::from_env().await?;
    let runtime = &runtime;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<EventBridgeEvent>| handler::handle(runtime, event))).await
}
