use lambda_http::{service_fn, Error};
use tandem_lambda_runtime::{init_json_logs, Runtime};
use tandem_webhook_function::handler;

fn main() -> Result<(), Error> {
    tandem_lambda_runtime::run_main(serve())?
}

async fn serve() -> Result<(), Error> {
    init_json_logs();
    // Built once per container: clients, secret cache and engines outlive the invocations.
    let runtime = Runtime::from_env().await?;
    let runtime = &runtime;
    lambda_http::run(service_fn(move |request| handler::handle(runtime, request))).await
}
