/** @module Anomalies, endpoint states and HTTP insight for flow records. */
export { ANOMALIES, ANOMALY_BY_CODE, ANOMALY_NAMES, type AnomalyInfo, type AnomalyName } from "./catalogue.js";
export { InsightReader, type AnomalyEntry, type FlowInsight, type HttpInsight, type InsightContext } from "./derive.js";
export { passesAnomalyFilter } from "./filter.js";
export {
  LINUX_THRESHOLDS,
  TCP_STATES,
  endpointState,
  type StateThresholds,
  type TcpStateName,
} from "./endpoint-state.js";
