/**
 * The frame of every catalog page: a title, what the page lists, a toolbar (a create button), and
 * the live tables, or the loading and error states (a 403 as "Access denied", not a spinner). Each page is a lazy chunk of its own.
 */
import { Alert, Content, Flex, FlexItem, PageSection, Title } from '@patternfly/react-core';
import { useEffect, type ReactNode } from 'react';
import { AccessDenied, forbidden } from '../components/AccessDenied';
import { Loading } from '../components/Loading';

export function CatalogPage({
  title,
  description,
  toolbar,
  loaded,
  error,
  children,
}: {
  title: string;
  description: ReactNode;
  toolbar?: ReactNode;
  loaded: boolean;
  error?: Error | undefined;
  children: ReactNode;
}) {
  const denied = forbidden(error);
  useEffect(() => {
    document.title = `${title} · Hikube VMs`;
  }, [title]);
  return (
    <>
      <PageSection>
        <Flex
          alignItems={{ default: 'alignItemsCenter' }}
          justifyContent={{ default: 'justifyContentSpaceBetween' }}
        >
          <FlexItem>
            <Title headingLevel="h1">{title}</Title>
            <Content component="p">{description}</Content>
          </FlexItem>
          {toolbar !== undefined && <FlexItem>{toolbar}</FlexItem>}
        </Flex>
      </PageSection>
      <PageSection isFilled>
        {denied !== undefined ? (
          <AccessDenied what={`the ${title.toLowerCase()} here`} error={denied} />
        ) : (
          <>
            {error !== undefined && (
              <Alert
                variant="warning"
                isInline
                title="The list could not be refreshed"
                className="hk-gap-below"
              >
                {error.message}
              </Alert>
            )}
            {loaded ? children : <Loading />}
          </>
        )}
      </PageSection>
    </>
  );
}

/** A section heading over one of a page's tables. */
export const SectionTitle = ({ children }: { children: ReactNode }) => (
  <Title headingLevel="h2" className="hk-section-title">
    {children}
  </Title>
);

/** What an empty table says instead. */
export const Empty = ({ children }: { children: ReactNode }) => (
  <Content component="p" className="hk-subtle">
    {children}
  </Content>
);
