/**
 * CloudWatch alarms of a stack: a function throttled or running close to its timeout, the API
 * answering 5xx to more than 5% of requests, DynamoDB throttling reads or writes. Each alarm
 * notifies the optional SNS topic (`alarmTopicArn`); without one the alarms still show state
 * in the console.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

const PERIOD = Duration.minutes(5);
/** Share of requests answered with 5xx that raises the API alarm. */
export const API_5XX_RATE_THRESHOLD = 0.05;
/** A function whose slowest invocation takes this share of its timeout is about to time out. */
export const DURATION_SHARE_OF_TIMEOUT = 0.9;

export class StackAlarms extends Construct {
  private readonly action?: SnsAction;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, topicArn: string | undefined) {
    super(scope, id);
    if (topicArn !== undefined) this.action = new SnsAction(sns.Topic.fromTopicArn(this, 'Topic', topicArn));
  }

  private add(id: string, props: cloudwatch.AlarmProps): void {
    const alarm = new cloudwatch.Alarm(this, id, { treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, ...props });
    if (this.action) {
      alarm.addAlarmAction(this.action);
      alarm.addOkAction(this.action);
    }
    this.alarms.push(alarm);
  }

  /** Throttles (any in 5 minutes) and the slowest invocation near the timeout. */
  watchFunction(id: string, fn: lambda.IFunction, timeout: Duration): void {
    this.add(`${id}Throttles`, {
      alarmDescription: `${fn.node.path}: invocations throttled (reserved or account concurrency exhausted)`,
      metric: fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    this.add(`${id}Duration`, {
      alarmDescription: `${fn.node.path}: an invocation took over ${DURATION_SHARE_OF_TIMEOUT * 100}% of the ${timeout.toSeconds()} s timeout`,
      metric: fn.metricDuration({ period: PERIOD, statistic: 'Maximum' }),
      threshold: timeout.toMilliseconds() * DURATION_SHARE_OF_TIMEOUT,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
  }

  /** The share of 5xx answers (the average of the 0/1 `5XXError` metric) over 5 minutes. */
  watchRestApi(api: apigw.RestApi): void {
    this.add('Api5xxRate', {
      alarmDescription: `${api.restApiName}: over ${API_5XX_RATE_THRESHOLD * 100}% of requests answered 5xx`,
      metric: api.metricServerError({ period: PERIOD, statistic: 'Average' }),
      threshold: API_5XX_RATE_THRESHOLD,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
  }

  /** Read and write throttle events of an on-demand table. */
  watchTable(table: dynamodb.Table): void {
    for (const metricName of ['ReadThrottleEvents', 'WriteThrottleEvents']) {
      this.add(`Table${metricName}`, {
        alarmDescription: `DynamoDB table: ${metricName}`,
        metric: table.metric(metricName, { period: PERIOD, statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
    }
  }
}
