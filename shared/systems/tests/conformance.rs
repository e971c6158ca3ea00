//! Every system tandem is built with passes the connector conformance checks against its bundled
//! simulator: a system added to the registry is checked without a test of its own.

tandem_connector_kit::simulated_conformance!(tandem_systems::all());
